"""the platform's contract and online moves: route notifications, move fences, change capture

tenant_routing: every change of "Organization"."databaseUrl" (and every organization
added with one, or deleted) sends NOTIFY tenant_routing, '<organization id>' in the
transaction that makes it, whoever makes it: the console, a move, or the guide's
Option B SQL run by hand. A platform process LISTENs and drops its cached client.

One statement trigger per event on each tenant table ("tenant_write_guard"), which costs a
database where nothing is moving two cheap EXISTS per statement:
  - change capture: while "TenantCapture" names an organization (a move of it is under
    way from this database), the id of every row of it that a statement inserts, updates
    or deletes goes into "TenantChange", which the move replays onto its target;
  - the hold: such writers first take a shared advisory lock of the organization; a move
    cutting over holds it exclusively for at most TENANT_MOVE_MAX_PAUSE, so they wait
    (a pause, not an error) while the last changes are replayed;
  - the fence: once "TenantFence" names an organization (its rows moved away), any write
    of its rows fails with SQLSTATE 55000 and "organization <id> moved to another
    database at <time>; re-read its databaseUrl".
A move's own bulk work sets tenant_fence.skip for its transaction (as loaders set
donor_stats.skip). PostgreSQL only; SQLite gets the tables and none of the triggers.

Revision ID: b7e2c9d4a1f3
Revises: f3c1d5a7b920
Create Date: 2026-11-28 01:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = "b7e2c9d4a1f3"
down_revision = "f3c1d5a7b920"
branch_labels = None
depends_on = None

TENANT_TABLES = ("Campaign", "Donor", "DonorPreference", "Donation")
TRANSITIONS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "DELETE": "OLD TABLE AS old_rows"}
HOLD_LOCK_CLASS = 7341  # the first key of the hold's advisory lock (app/operations/capture.py)

NOTIFY_FUNCTION = """CREATE OR REPLACE FUNCTION "tenant_routing_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tenant_routing', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  RETURN NULL;
END $$"""

def _guard(rows: str) -> str:
    """The guard's work for one statement whose touched rows are in the transition table rows."""
    return f"""
    IF EXISTS (SELECT 1 FROM "TenantCapture") THEN
      PERFORM pg_advisory_xact_lock_shared({HOLD_LOCK_CLASS}, hashtext(c."organizationId")) FROM "TenantCapture" c
        WHERE c."organizationId" IN (SELECT t."organizationId" FROM {rows} t);
      INSERT INTO "TenantChange" ("organizationId", "table", "rowId")
        SELECT r."organizationId", TG_TABLE_NAME, r.id FROM {rows} r
         WHERE r."organizationId" IN (SELECT "organizationId" FROM "TenantCapture");
    END IF;
    IF EXISTS (SELECT 1 FROM "TenantFence") THEN
      SELECT f.* INTO fence FROM "TenantFence" f
       WHERE f."organizationId" IN (SELECT t."organizationId" FROM {rows} t) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'organization % moved to another database at %; re-read its databaseUrl',
          fence."organizationId", to_char(fence."movedAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
          USING ERRCODE = '55000', HINT = 'Read "Organization"."databaseUrl" again and retry the write there.';
      END IF;
    END IF;"""


# One body for the three triggers: PL/pgSQL parses a statement when it first runs, so each
# branch names only the transition tables its event has. SECURITY DEFINER: a writer granted
# the four tenant tables only still passes through the guard's own tables. SET search_path
# FROM CURRENT: it finds them whatever the caller's search_path (pg_restore runs with an
# empty one), and a caller cannot slip other tables in front of them.
GUARD_FUNCTION = f"""CREATE OR REPLACE FUNCTION "tenant_write_guard"() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  fence record;
BEGIN
  IF current_setting('tenant_fence.skip', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN {_guard("new_rows")}
  ELSIF TG_OP = 'DELETE' THEN {_guard("old_rows")}
  ELSE {_guard("(SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows)")}
  END IF;
  RETURN NULL;
END $$"""


def upgrade():
    op.create_table(
        "TenantFence",
        sa.Column("organizationId", sa.Text(), nullable=False),
        sa.Column("movedAt", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("movedTo", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("organizationId", name=op.f("pk_TenantFence")),
    )
    op.create_table(
        "TenantCapture",
        sa.Column("organizationId", sa.Text(), nullable=False),
        sa.Column("startedAt", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("movingTo", sa.Text(), nullable=True),
        sa.Column("deferredDdl", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("organizationId", name=op.f("pk_TenantCapture")),
    )
    op.create_table(
        "TenantChange",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("organizationId", sa.Text(), nullable=False),
        sa.Column("table", sa.Text(), nullable=False),
        sa.Column("rowId", sa.Text(), nullable=False),
        sa.Column("applied", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_TenantChange")),
    )
    op.create_index("ix_TenantChange_org_applied_id", "TenantChange", ["organizationId", "applied", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_FUNCTION)
    op.execute("""CREATE TRIGGER "Organization_routing_changed" AFTER UPDATE OF "databaseUrl" ON "Organization"
                  FOR EACH ROW WHEN (OLD."databaseUrl" IS DISTINCT FROM NEW."databaseUrl")
                  EXECUTE FUNCTION "tenant_routing_notify"()""")
    op.execute("""CREATE TRIGGER "Organization_routing_added" AFTER INSERT ON "Organization"
                  FOR EACH ROW WHEN (NEW."databaseUrl" IS NOT NULL) EXECUTE FUNCTION "tenant_routing_notify"()""")
    op.execute("""CREATE TRIGGER "Organization_routing_removed" AFTER DELETE ON "Organization"
                  FOR EACH ROW EXECUTE FUNCTION "tenant_routing_notify"()""")
    op.execute(GUARD_FUNCTION)
    for table in TENANT_TABLES:
        for event, transitions in TRANSITIONS.items():
            op.execute(f"""CREATE TRIGGER "{table}_guard_{event.lower()}" AFTER {event} ON "{table}"
                           REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION "tenant_write_guard"()""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for event in TRANSITIONS:
                op.execute(f'DROP TRIGGER IF EXISTS "{table}_guard_{event.lower()}" ON "{table}"')
        for name in ("changed", "added", "removed"):
            op.execute(f'DROP TRIGGER IF EXISTS "Organization_routing_{name}" ON "Organization"')
        op.execute('DROP FUNCTION IF EXISTS "tenant_write_guard"()')
        op.execute('DROP FUNCTION IF EXISTS "tenant_routing_notify"()')
    op.drop_index("ix_TenantChange_org_applied_id", table_name="TenantChange")
    op.drop_table("TenantChange")
    op.drop_table("TenantCapture")
    op.drop_table("TenantFence")
