"""donor giving stats: lifetime total, gift count and last gift date, kept by triggers

A donor list sorted by lifetime total, or filtered by "gave since", cannot aggregate
millions of donations on every page. These three columns on "Donor" are maintained by
the database itself whenever "Donation" changes, whoever writes it (the platform, the
guide's SQL, a COPY): statement-level triggers with transition tables on PostgreSQL, so
a bulk COPY costs one aggregated UPDATE per statement; row triggers on SQLite.

A bulk loader that writes donors with their stats already computed (demo-data, tenant
moves copying rows verbatim) sets `SET LOCAL donor_stats.skip = 'on'` in its own
transaction, so the stats are not counted twice.

Revision ID: d2b8e61f4c07
Revises: a7d31f0c9b42
Create Date: 2026-11-27 16:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = "d2b8e61f4c07"
down_revision = "a7d31f0c9b42"
branch_labels = None
depends_on = None

def pg_recompute(source: str) -> str:
    return f"""
    UPDATE "Donor" d
       SET "lifetimeTotal" = COALESCE(agg.total, 0), "giftCount" = COALESCE(agg.n, 0), "lastGiftDate" = agg.last
      FROM (SELECT DISTINCT "organizationId", "donorId" FROM ({source}) src) t
      LEFT JOIN LATERAL (
        SELECT sum(x.amount) AS total, count(*) AS n, max(x.date) AS last FROM "Donation" x
         WHERE x."organizationId" = t."organizationId" AND x."donorId" = t."donorId") agg ON true
     WHERE d.id = t."donorId" AND d."organizationId" = t."organizationId";"""


def pg_function(name: str, body: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('donor_stats.skip', true) = 'on' THEN
    RETURN NULL;
  END IF;
{body}
  RETURN NULL;
END $$;"""


PG_INSERT = """
  UPDATE "Donor" d
     SET "lifetimeTotal" = d."lifetimeTotal" + s.total, "giftCount" = d."giftCount" + s.n,
         "lastGiftDate" = GREATEST(d."lastGiftDate", s.last)
    FROM (SELECT "organizationId", "donorId", sum(amount) AS total, count(*) AS n, max(date) AS last
            FROM new_rows GROUP BY "organizationId", "donorId") s
   WHERE d.id = s."donorId" AND d."organizationId" = s."organizationId";"""

PG_TRIGGERS = {
    # name: (event, transition tables, function body)
    "donation_stats_insert": ("INSERT", "NEW TABLE AS new_rows", PG_INSERT),
    "donation_stats_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                              pg_recompute('SELECT "organizationId", "donorId" FROM old_rows UNION ALL '
                                           'SELECT "organizationId", "donorId" FROM new_rows')),
    "donation_stats_delete": ("DELETE", "OLD TABLE AS old_rows",
                              pg_recompute('SELECT "organizationId", "donorId" FROM old_rows')),
}

SQLITE_RECOMPUTE = """UPDATE "Donor" SET
  "lifetimeTotal" = COALESCE((SELECT sum(amount) FROM "Donation" x WHERE x."donorId" = "Donor".id), 0),
  "giftCount" = (SELECT count(*) FROM "Donation" x WHERE x."donorId" = "Donor".id),
  "lastGiftDate" = (SELECT max(date) FROM "Donation" x WHERE x."donorId" = "Donor".id)
 WHERE id IN ({ids});"""

SQLITE_TRIGGERS = {
    "donation_stats_insert": ("INSERT", SQLITE_RECOMPUTE.format(ids='NEW."donorId"')),
    "donation_stats_update": ("UPDATE", SQLITE_RECOMPUTE.format(ids='OLD."donorId", NEW."donorId"')),
    "donation_stats_delete": ("DELETE", SQLITE_RECOMPUTE.format(ids='OLD."donorId"')),
}


def upgrade():
    with op.batch_alter_table("Donor") as batch:
        batch.add_column(sa.Column("lifetimeTotal", sa.Numeric(14, 2), server_default="0", nullable=False))
        batch.add_column(sa.Column("giftCount", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("lastGiftDate", sa.Date(), nullable=True))
    op.create_index("ix_Donor_org_lifetimeTotal", "Donor", ["organizationId", "lifetimeTotal", "id"])
    op.create_index("ix_Donor_org_lastGiftDate", "Donor", ["organizationId", "lastGiftDate"])
    if op.get_bind().dialect.name == "postgresql":
        for name, (event, tables, body) in PG_TRIGGERS.items():
            op.execute(pg_function(f"{name}_fn", body))
            op.execute(f'CREATE TRIGGER "{name}" AFTER {event} ON "Donation" REFERENCING {tables} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION "{name}_fn"()')
        op.execute(pg_recompute('SELECT "organizationId", "donorId" FROM "Donation"'))
    else:
        for name, (event, body) in SQLITE_TRIGGERS.items():
            op.execute(f'CREATE TRIGGER "{name}" AFTER {event} ON "Donation" BEGIN {body} END')
        op.execute(SQLITE_RECOMPUTE.format(ids='SELECT "donorId" FROM "Donation"'))


def downgrade():
    for name in PG_TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "Donation"' if op.get_bind().dialect.name == "postgresql"
                   else f'DROP TRIGGER IF EXISTS "{name}"')
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f'DROP FUNCTION IF EXISTS "{name}_fn"()')
    op.drop_index("ix_Donor_org_lastGiftDate", "Donor")
    op.drop_index("ix_Donor_org_lifetimeTotal", "Donor")
    with op.batch_alter_table("Donor") as batch:
        batch.drop_column("lastGiftDate")
        batch.drop_column("giftCount")
        batch.drop_column("lifetimeTotal")
