"""campaign giving stats: amount raised, gift count and donor count, kept by triggers

The campaigns page aggregated every donation of the organization on each request:
seconds at a million donors. Like the donor stats (d2b8e61f4c07), "Campaign" now
carries its totals, kept by the database whenever "Donation" changes, and set aside the
same way (`SET LOCAL donor_stats.skip = 'on'`) by loaders that copy rows with their
stats already in them.

PostgreSQL: statement triggers apply deltas. Amount and gift count come from the
transition tables. For the donor count, each (campaign, donor) pair the statement
touched is compared before and after: it gave after the statement if the pair has any
row now; it gave before if the pair had an old row, or has more rows now than the
statement added. The touched campaign rows are locked first, in a statement of their
own, so that two transactions recording one donor's first gift to a campaign at the
same time cannot both count the donor: the second waits, and its next statement sees
the first's row. SQLite recomputes the touched campaigns on every row.

("organizationId", "campaignId", "donorId") replaces ("organizationId", "campaignId"):
the pair lookups and the donor list's campaign filter both use it.

Revision ID: f3c1d5a7b920
Revises: e5c9a3d18f60
Create Date: 2026-11-27 18:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = "f3c1d5a7b920"
down_revision = "e5c9a3d18f60"
branch_labels = None
depends_on = None

NO_ROWS = '(SELECT * FROM "Donation" WHERE false)'


def pg_function(name: str, old: str, new: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('donor_stats.skip', true) = 'on' THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM "Campaign" WHERE id IN (SELECT "campaignId" FROM {old} o UNION SELECT "campaignId" FROM {new} n)
    ORDER BY id FOR NO KEY UPDATE;  -- not FOR UPDATE: that would wait on the foreign key checks of concurrent inserts
  UPDATE "Campaign" c
     SET "raisedTotal" = c."raisedTotal" + s.amount, "giftCount" = c."giftCount" + s.gifts,
         "donorCount" = c."donorCount" + s.donors
    FROM (SELECT org, campaign, sum(amount) AS amount, sum(gifts) AS gifts,
                 sum((now_n > 0)::int - (had_old OR now_n > added)::int) AS donors
            FROM (SELECT org, campaign, donor, sum(amount) AS amount, sum(gifts) AS gifts,
                         bool_or(gifts < 0) AS had_old, count(*) FILTER (WHERE gifts > 0) AS added,
                         (SELECT count(*) FROM "Donation" x WHERE x."organizationId" = org
                             AND x."campaignId" = campaign AND x."donorId" = donor) AS now_n
                    FROM (SELECT "organizationId" AS org, "campaignId" AS campaign, "donorId" AS donor,
                                 -amount AS amount, -1 AS gifts FROM {old} o
                          UNION ALL
                          SELECT "organizationId", "campaignId", "donorId", amount, 1 FROM {new} n) changed
                   WHERE campaign IS NOT NULL
                   GROUP BY org, campaign, donor) pairs
           GROUP BY org, campaign) s
   WHERE c.id = s.campaign AND c."organizationId" = s.org;
  RETURN NULL;
END $$;"""


PG_TRIGGERS = {
    # name: (event, transition tables, old rows, new rows)
    "campaign_stats_insert": ("INSERT", "NEW TABLE AS new_rows", NO_ROWS, "new_rows"),
    "campaign_stats_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "old_rows", "new_rows"),
    "campaign_stats_delete": ("DELETE", "OLD TABLE AS old_rows", "old_rows", NO_ROWS),
}

SQLITE_RECOMPUTE = """UPDATE "Campaign" SET
  "raisedTotal" = COALESCE((SELECT sum(amount) FROM "Donation" x WHERE x."campaignId" = "Campaign".id), 0),
  "giftCount" = (SELECT count(*) FROM "Donation" x WHERE x."campaignId" = "Campaign".id),
  "donorCount" = (SELECT count(DISTINCT "donorId") FROM "Donation" x WHERE x."campaignId" = "Campaign".id)
 WHERE id IN ({ids});"""

SQLITE_TRIGGERS = {
    "campaign_stats_insert": ("INSERT", SQLITE_RECOMPUTE.format(ids='NEW."campaignId"')),
    "campaign_stats_update": ("UPDATE", SQLITE_RECOMPUTE.format(ids='OLD."campaignId", NEW."campaignId"')),
    "campaign_stats_delete": ("DELETE", SQLITE_RECOMPUTE.format(ids='OLD."campaignId"')),
}


def upgrade():
    with op.batch_alter_table("Campaign") as batch:
        batch.add_column(sa.Column("raisedTotal", sa.Numeric(14, 2), server_default="0", nullable=False))
        batch.add_column(sa.Column("giftCount", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("donorCount", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_Donation_org_campaign_donor", "Donation", ["organizationId", "campaignId", "donorId"])
    op.drop_index("ix_Donation_org_campaign", "Donation")
    if op.get_bind().dialect.name == "postgresql":
        for name, (event, tables, old, new) in PG_TRIGGERS.items():
            op.execute(pg_function(f"{name}_fn", old, new))
            op.execute(f'CREATE TRIGGER "{name}" AFTER {event} ON "Donation" REFERENCING {tables} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION "{name}_fn"()')
        op.execute("""UPDATE "Campaign" c SET "raisedTotal" = s.amount, "giftCount" = s.gifts, "donorCount" = s.donors
                        FROM (SELECT "organizationId" AS org, "campaignId" AS campaign, sum(amount) AS amount,
                                     count(*) AS gifts, count(DISTINCT "donorId") AS donors
                                FROM "Donation" WHERE "campaignId" IS NOT NULL GROUP BY 1, 2) s
                       WHERE c.id = s.campaign AND c."organizationId" = s.org""")
    else:
        for name, (event, body) in SQLITE_TRIGGERS.items():
            op.execute(f'CREATE TRIGGER "{name}" AFTER {event} ON "Donation" BEGIN {body} END')
        op.execute(SQLITE_RECOMPUTE.format(ids='SELECT id FROM "Campaign"'))


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in PG_TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "Donation"' if postgresql else f'DROP TRIGGER IF EXISTS "{name}"')
        if postgresql:
            op.execute(f'DROP FUNCTION IF EXISTS "{name}_fn"()')
    op.create_index("ix_Donation_org_campaign", "Donation", ["organizationId", "campaignId"])
    op.drop_index("ix_Donation_org_campaign_donor", "Donation")
    with op.batch_alter_table("Campaign") as batch:
        batch.drop_column("donorCount")
        batch.drop_column("giftCount")
        batch.drop_column("raisedTotal")
