"""The monthly partitions of "AuditEvent" on PostgreSQL (the migration e8f1a3c5d7b9 made the layout).

"AuditEvent" is LIST-partitioned on action into "AuditEvent_reads" (tenant.read) and
"AuditEvent_other"; each is RANGE-partitioned on "createdAt" into months named
"AuditEvent_<kind>_YYYYMM" (UTC) and a default partition. An event of a month without its
partition lands in the default one, so writing never fails; months are created ahead of
time (here, by audit prune and the worker's daily run) so that the default stays small.
"""

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, OperationalError

KINDS = ("reads", "other")
MONTHS_AHEAD = 3
# DDL on a partition needs a moment's exclusive lock on its parent: it waits at most this long
# (and the writers queued behind it with it), and is not even tried while another transaction
# has held a lock there for a while (a streamed CSV export, say).
LOCK_TIMEOUT = "100ms"
ATTEMPTS = 10
HELD_LONG = text(
    """SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.relation = ANY(CAST(:tables AS regclass[])) AND l.granted AND l.pid <> pg_backend_pid()
         AND a.xact_start < clock_timestamp() - interval '1 second')"""
)


@dataclass(frozen=True)
class Month:
    kind: str
    start: date

    @property
    def end(self) -> date:
        return add_months(self.start, 1)

    @property
    def table(self) -> str:
        return f"AuditEvent_{self.kind}_{self.start:%Y%m}"

    @staticmethod
    def bound(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), UTC)

    def ends_before(self, moment: datetime) -> bool:
        return self.bound(self.end) <= moment


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.scalar(text("""SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass('"AuditEvent"')""")))


def months(conn: Connection, kind: str) -> list[Month]:
    """The monthly partitions of kind that exist, oldest first."""
    names = conn.scalars(
        text(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = to_regclass(:parent) AND c.relname ~ '_[0-9]{6}$'"""
        ),
        {"parent": f'"AuditEvent_{kind}"'},
    )
    found = [Month(kind, date(int(name[-6:-2]), int(name[-2:]), 1)) for name in names]
    return sorted(found, key=lambda month: month.start)


def ensure_ahead(conn: Connection, now: datetime) -> list[str]:
    """Create this month's partitions and MONTHS_AHEAD more when missing; the names created.

    A month whose events already sit in the default partition is left there (creating its
    partition would have to move them under a lock); retention deletes them in batches."""
    created = []
    this_month = now.astimezone(UTC).date().replace(day=1)
    for kind in KINDS:
        existing = {month.start for month in months(conn, kind)}
        for n in range(MONTHS_AHEAD + 1):
            month = Month(kind, add_months(this_month, n))
            if month.start not in existing and not _default_holds(conn, month) and _create(conn, month):
                created.append(month.table)
    return created


def _default_holds(conn: Connection, month: Month) -> bool:
    default = f'"AuditEvent_{month.kind}_default"'
    query = f'SELECT EXISTS (SELECT 1 FROM {default} WHERE "createdAt" >= :a AND "createdAt" < :b)'
    bounds = {"a": month.bound(month.start), "b": month.bound(month.end)}  # UTC, whatever the session's TimeZone
    return bool(conn.scalar(text(query), bounds))


def _create(conn: Connection, month: Month) -> bool:
    statement = (
        f'CREATE TABLE "{month.table}" PARTITION OF "AuditEvent_{month.kind}" '
        f"FOR VALUES FROM ('{month.start} 00:00:00+00') TO ('{month.end} 00:00:00+00')"
    )
    return run_ddl(conn, statement, [f"AuditEvent_{month.kind}", "AuditEvent"], attempts=1)


def run_ddl(conn: Connection, statement: str, tables: list[str], attempts: int | None = None) -> bool:
    """Run statement in its own short transaction, after the locks on tables are free; False
    when they stayed busy through every attempt (the next run tries again)."""
    attempts = attempts or ATTEMPTS
    for attempt in range(attempts):
        conn.commit()
        if not conn.scalar(HELD_LONG, {"tables": [f'"{table}"' for table in tables]}):
            try:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text(statement))
                conn.commit()
                return True
            except (OperationalError, IntegrityError):  # lock_timeout (a writer or reader was there), or
                pass  # the default partition took a row of that month meanwhile: it stays there
        conn.rollback()
        if attempt + 1 < attempts:
            time.sleep(0.5 * (attempt + 1))
    return False
