"""the platform's contract: a notification when a route changes, and fences after a move

tenant_routing: every change of "Organization"."databaseUrl" (and every organization
added with one, or deleted) sends NOTIFY tenant_routing, '<organization id>' in the
transaction that makes it, whoever makes it: the console, a move, or the guide's
Option B SQL run by hand. A platform process LISTENs and drops its cached client.

"TenantFence": one row per organization whose rows moved away from this database. Any
insert, update or delete of that organization's rows in the four tenant tables then
fails with SQLSTATE 55000 and "organization <id> moved to another database at <time>;
re-read its databaseUrl", so a writer that still routes here is refused, never left
behind. Statement triggers with transition tables: a database without fences pays one
cheap EXISTS per statement, not a lookup per row. A move's own bulk work sets
tenant_fence.skip for its transaction (as loaders set donor_stats.skip).

PostgreSQL only; SQLite has neither NOTIFY nor these triggers (the table exists everywhere).

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
EVENTS = {"INSERT": "new_rows", "UPDATE": "new_rows", "DELETE": "old_rows"}

NOTIFY_FUNCTION = """CREATE OR REPLACE FUNCTION "tenant_routing_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tenant_routing', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  RETURN NULL;
END $$"""

# SET search_path FROM CURRENT: the function finds "TenantFence" whatever the caller's
# search_path (pg_restore runs with an empty one).
FENCE_FUNCTION = """CREATE OR REPLACE FUNCTION "tenant_fence_check"() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  fence record;
BEGIN
  IF current_setting('tenant_fence.skip', true) = 'on' OR NOT EXISTS (SELECT 1 FROM "TenantFence") THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    SELECT f.* INTO fence FROM "TenantFence" f WHERE f."organizationId" IN (SELECT "organizationId" FROM old_rows) LIMIT 1;
  ELSE
    SELECT f.* INTO fence FROM "TenantFence" f WHERE f."organizationId" IN (SELECT "organizationId" FROM new_rows) LIMIT 1;
  END IF;
  IF FOUND THEN
    RAISE EXCEPTION 'organization % moved to another database at %; re-read its databaseUrl',
      fence."organizationId", to_char(fence."movedAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
      USING ERRCODE = '55000', HINT = 'Read "Organization"."databaseUrl" again and retry the write there.';
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
    op.execute(FENCE_FUNCTION)
    for table in TENANT_TABLES:
        for event, rows in EVENTS.items():
            op.execute(f"""CREATE TRIGGER "{table}_fence_{event.lower()}" AFTER {event} ON "{table}"
                           REFERENCING {"OLD" if event == "DELETE" else "NEW"} TABLE AS {rows}
                           FOR EACH STATEMENT EXECUTE FUNCTION "tenant_fence_check"()""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for event in EVENTS:
                op.execute(f'DROP TRIGGER IF EXISTS "{table}_fence_{event.lower()}" ON "{table}"')
        for name in ("changed", "added", "removed"):
            op.execute(f'DROP TRIGGER IF EXISTS "Organization_routing_{name}" ON "Organization"')
        op.execute('DROP FUNCTION IF EXISTS "tenant_fence_check"()')
        op.execute('DROP FUNCTION IF EXISTS "tenant_routing_notify"()')
    op.drop_table("TenantFence")
