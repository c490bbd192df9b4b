"""audit events partitioned by kind and month, with indexes that serve the organization pages

On PostgreSQL "AuditEvent" becomes a partitioned table: LIST on action puts tenant reads
("AuditEvent_reads") apart from everything else ("AuditEvent_other"), and each is split
by RANGE on "createdAt" into months ("AuditEvent_reads_202611") plus a default partition,
so an event of any date can always be written. Retention (audit prune) drops whole months
of reads without a long lock; the organization pages find the latest test, move, migrate
and backup and the recent activity through indexes on the non-read events only.

An existing table is converted without a long exclusive lock: its rows are copied in
batches into the new table while the console keeps writing, then, under a lock held only
for the last few rows, the tables are swapped. The downgrade does the same in reverse.
SQLite (development) keeps its plain table and gets the indexes.

Revision ID: e8f1a3c5d7b9
Revises: b3d5f7a9c1e2
Create Date: 2026-11-28 04:30:00
"""
import time
from datetime import date, datetime, timezone

from alembic import op
import psycopg
import sqlalchemy as sa

revision = "e8f1a3c5d7b9"
down_revision = "b3d5f7a9c1e2"
branch_labels = None
depends_on = None

BATCH = 50_000
MONTHS_AHEAD = 3
COLUMNS = '"id", "createdAt", "actorId", "actorEmail", "organizationId", "action", "outcome", "detail", "ip"'
# The column list of both shapes; id takes its value from the one sequence (a parameter).
TABLE_BODY = """
    "id" bigint NOT NULL DEFAULT nextval('{sequence}'),
    "createdAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorId" integer CONSTRAINT "fk_AuditEvent_actorId_AdminUser" REFERENCES "AdminUser" (id) ON DELETE SET NULL,
    "actorEmail" text,
    "organizationId" text,
    "action" text NOT NULL,
    "outcome" text NOT NULL DEFAULT 'ok',
    "detail" text,
    "ip" text"""


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("AuditEvent") as batch_op:
            batch_op.drop_index("ix_AuditEvent_organizationId")
            batch_op.create_index("ix_AuditEvent_org_id", ["organizationId", "id"])
            batch_op.create_index("ix_AuditEvent_org_action_id", ["organizationId", "action", "id"])
            batch_op.create_index("ix_AuditEvent_action_id", ["action", "id"])
        return
    if _kind(bind) == "p":  # converted by a run killed before Alembic recorded it
        return
    sequence = _sequence(bind)
    statements = [
        f'CREATE TABLE "AuditEvent_next" ({TABLE_BODY.format(sequence=sequence)},'
        ' CONSTRAINT "pk_AuditEvent_next" PRIMARY KEY ("id", "action", "createdAt")) PARTITION BY LIST ("action")',
        """CREATE TABLE "AuditEvent_reads" PARTITION OF "AuditEvent_next" FOR VALUES IN ('tenant.read')
           PARTITION BY RANGE ("createdAt")""",
        'CREATE TABLE "AuditEvent_other" PARTITION OF "AuditEvent_next" DEFAULT PARTITION BY RANGE ("createdAt")',
        'CREATE TABLE "AuditEvent_reads_default" PARTITION OF "AuditEvent_reads" DEFAULT',
        'CREATE TABLE "AuditEvent_other_default" PARTITION OF "AuditEvent_other" DEFAULT',
        # Every event, by organization, newest first: /audit?organization=..., recent activity.
        'CREATE INDEX "ix_AuditEvent_org_id" ON "AuditEvent_next" ("organizationId", "id")',
        # Non-read events only (reads are never looked up this way): the latest of an action.
        'CREATE INDEX "ix_AuditEvent_org_action_id" ON "AuditEvent_other" ("organizationId", "action", "id")',
        'CREATE INDEX "ix_AuditEvent_action_id" ON "AuditEvent_other" ("action", "id")',
    ]
    first = bind.execute(sa.text('SELECT min("createdAt") FROM "AuditEvent"')).scalar()
    statements += [_month_partition(kind, month) for kind in ("reads", "other") for month in _months(first)]
    _convert(bind, statements, "AuditEvent_next", {"pk_AuditEvent_next": "pk_AuditEvent"}, sequence)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("AuditEvent") as batch_op:
            batch_op.drop_index("ix_AuditEvent_action_id")
            batch_op.drop_index("ix_AuditEvent_org_action_id")
            batch_op.drop_index("ix_AuditEvent_org_id")
            batch_op.create_index("ix_AuditEvent_organizationId", ["organizationId"])
        return
    if _kind(bind) == "r":  # converted back by a run killed before Alembic recorded it
        return
    sequence = _sequence(bind)
    statements = [
        f'CREATE TABLE "AuditEvent_plain" ({TABLE_BODY.format(sequence=sequence)},'
        ' CONSTRAINT "pk_AuditEvent_plain" PRIMARY KEY ("id"))',
        'CREATE INDEX "ix_AuditEvent_plain_org" ON "AuditEvent_plain" ("organizationId")',
    ]
    renames = {"pk_AuditEvent_plain": "pk_AuditEvent", "ix_AuditEvent_plain_org": "ix_AuditEvent_organizationId"}
    _convert(bind, statements, "AuditEvent_plain", renames, sequence)


def _kind(bind) -> str:
    return bind.execute(sa.text("""SELECT relkind FROM pg_class WHERE oid = '"AuditEvent"'::regclass""")).scalar()


def _sequence(bind) -> str:
    return bind.execute(sa.text("""SELECT pg_get_serial_sequence('"AuditEvent"', 'id')""")).scalar()


def _months(first: datetime | None) -> list[date]:
    """The months from the oldest event's (or this one) to MONTHS_AHEAD after this one."""
    today = datetime.now(timezone.utc).date().replace(day=1)
    month = min(first.astimezone(timezone.utc).date().replace(day=1), today) if first else today
    months = []
    while month <= _add_months(today, MONTHS_AHEAD):
        months.append(month)
        month = _add_months(month, 1)
    return months


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _month_partition(kind: str, month: date) -> str:
    # The same shape app/audit_log/partitions.py creates later on (a migration stays as written).
    end = _add_months(month, 1)
    return (
        f'CREATE TABLE "AuditEvent_{kind}_{month:%Y%m}" PARTITION OF "AuditEvent_{kind}" '
        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{end.isoformat()} 00:00:00+00')"
    )


def _convert(bind, statements: list[str], new_table: str, renames: dict[str, str], sequence: str) -> None:
    """Fill new_table from "AuditEvent" in batches while writers go on, then swap them under
    a lock held only while the last rows are copied. Each batch is its own transaction: the
    work runs on the driver's connection in autocommit, with explicit transaction blocks."""
    with op.get_context().autocommit_block():
        conn = bind.connection.driver_connection
        # audit prune (app/audit_log/retention.py) takes the same lock: it never deletes from a
        # table being copied (the rows would come back with the copy).
        conn.execute("SELECT pg_advisory_lock(7341, 2)")
        conn.execute(f'DROP TABLE IF EXISTS "{new_table}" CASCADE')  # left by an interrupted run
        for statement in statements:
            conn.execute(statement)
        copy = f'INSERT INTO "{new_table}" ({COLUMNS}) SELECT {COLUMNS} FROM "AuditEvent" WHERE id > %s AND id <= %s'
        copied = 0
        while True:
            ceiling = _settled_ceiling(conn, sequence)
            for lower in range(copied, ceiling, BATCH):
                conn.execute(copy, (lower, min(lower + BATCH, ceiling)))
            copied = max(copied, ceiling)
            if _last_value(conn, sequence) - copied < BATCH:
                break
        _swap(conn, new_table, renames, sequence, copied)
        conn.execute("SELECT pg_advisory_unlock(7341, 2)")
        conn.execute('ANALYZE "AuditEvent"')


def _last_value(conn, sequence: str) -> int:
    return conn.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}").fetchone()[0]


def _settled_ceiling(conn, sequence: str) -> int:
    """The sequence's value behind a barrier: a SHARE lock on "AuditEvent" is granted once every
    transaction that has inserted into it has ended (an INSERT holds ROW EXCLUSIVE from before
    it draws its id until it commits), and the INSERTs that come after draw larger ids. So no
    row with an id up to the value can still appear. Writers wait only while it is taken."""
    for attempt in range(60):
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '2s'")
                conn.execute('LOCK TABLE "AuditEvent" IN SHARE MODE')
                return _last_value(conn, sequence)
        except psycopg.errors.LockNotAvailable:
            time.sleep(0.5)
    raise RuntimeError('a transaction has kept "AuditEvent" locked for minutes; end it and run the upgrade again')


def _swap(conn, new_table: str, renames: dict[str, str], sequence: str, copied: int) -> None:
    """Copy what was written since the last batch and swap the tables, in one short transaction."""
    for attempt in range(20):
        try:
            with conn.transaction():
                # Writers wait here for at most the copy of the last rows; readers too.
                conn.execute("SET LOCAL lock_timeout = '2s'")
                conn.execute('LOCK TABLE "AuditEvent" IN ACCESS EXCLUSIVE MODE')
                conn.execute(
                    f'INSERT INTO "{new_table}" ({COLUMNS}) SELECT {COLUMNS} FROM "AuditEvent" WHERE id > %s',
                    (copied,),
                )
                conn.execute(f'ALTER SEQUENCE {sequence} OWNED BY "{new_table}".id')
                conn.execute('DROP TABLE "AuditEvent"')
                conn.execute(f'ALTER TABLE "{new_table}" RENAME TO "AuditEvent"')
                for old, new in renames.items():
                    conn.execute(f'ALTER INDEX "{old}" RENAME TO "{new}"')
            return
        except psycopg.errors.LockNotAvailable:
            time.sleep(0.5 * (attempt + 1))
    raise RuntimeError('"AuditEvent" stayed locked by other sessions; run the upgrade again when they are done')
