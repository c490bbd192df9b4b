"""Moving one organization's rows between databases without losing or duplicating one.

The guide's `pg_dump --where=...` does not exist; this does what it meant:
  1. copy "Campaign", "Donor", "DonorPreference", "Donation" (dependency order) for one
     organization, by COPY in batches walked in id order, each batch committed;
  2. verify per-table row counts and an order-independent checksum of every column;
  3. only then switch the organization's "databaseUrl" (one UPDATE).
A run killed at any point is finished by running it again: the target holds a prefix
of the source's rows in id order, so the copy resumes after its last id, and a target
that no longer matches its source is cleared for that table (and the ones after it)
and copied again. The target is not live until the switch, so clearing it loses nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from app.models import TENANT_MODELS
from app.models.tenant import skip_giving_stats
from app.operations.fences import skip_fences
from app.tenancy.urls import connect_params, mask

TABLES = tuple(model.__tablename__ for model in TENANT_MODELS)
TABLE_COLUMNS = {model.__tablename__: tuple(c.name for c in model.__table__.columns) for model in TENANT_MODELS}
DEFAULT_BATCH = 50_000
SESSION = "-c statement_timeout=0 -c TimeZone=UTC -c DateStyle=ISO -c application_name=tenant-console-move"


class TransferError(Exception):
    """A move or restore that cannot go on; nothing that matters was changed. str() is safe to show."""


@dataclass
class TableState:
    count: int
    checksum: str


@dataclass
class TransferReport:
    tables: dict[str, int] = field(default_factory=dict)  # rows copied by this run
    verified: dict[str, TableState] = field(default_factory=dict)
    restarted: list[str] = field(default_factory=list)


class WritableDatabase:
    """A writable connection to one database: the main one or a dedicated one."""

    def __init__(self, url: URL, connect_timeout: int = 10, extras: dict | None = None):
        self.url, self.label = url, mask(url)
        self.connect_timeout, self.extras = connect_timeout, extras or {}

    def connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(
                **connect_params(self.url, connect_timeout=self.connect_timeout, options=SESSION, **self.extras)
            )
        except psycopg.OperationalError:
            raise TransferError(f"cannot connect to {self.label}") from None


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def column_list(name: str) -> sql.Composed:
    """Every column of a tenant table, quoted, in model order (what COPY and checksums read)."""
    return sql.SQL(", ").join(sql.Identifier(c) for c in TABLE_COLUMNS[name])


def table_state(conn: psycopg.Connection, table: str, org_id: str, up_to: str | None = None) -> TableState:
    """Row count and a checksum of every column: the sum of each row's md5, so order does not matter.
    With up_to, only the rows whose id is at most up_to."""
    bound = sql.SQL(" AND id <= %s") if up_to is not None else sql.SQL("")
    params = (org_id, up_to) if up_to is not None else (org_id,)
    row = conn.execute(
        sql.SQL(
            "SELECT count(*),"
            " coalesce(sum(('x' || substr(md5(ROW({cols})::text), 1, 16))::bit(64)::bigint::numeric), 0)"
            ' FROM {table} WHERE "organizationId" = %s{bound}'
        ).format(cols=column_list(table), table=_table(table), bound=bound),
        params,
    ).fetchone()
    return TableState(row[0], str(row[1]))


def org_states(conn: psycopg.Connection, org_id: str) -> dict[str, TableState]:
    return {table: table_state(conn, table, org_id) for table in TABLES}


def other_organizations(conn: psycopg.Connection, org_id: str) -> list[str]:
    found = set()
    for table in TABLES:
        rows = conn.execute(
            sql.SQL('SELECT DISTINCT "organizationId" FROM {} WHERE "organizationId" <> %s LIMIT 5').format(
                _table(table)
            ),
            (org_id,),
        ).fetchall()
        found.update(r[0] for r in rows)
    return sorted(found)


def delete_org_rows(conn: psycopg.Connection, org_id: str, tables=TABLES, batch: int = DEFAULT_BATCH) -> int:
    """Delete one organization's rows, children first, in batches (short locks, resumable)."""
    deleted = 0
    for table in reversed(tables):
        while True:
            with conn.transaction():
                skip_giving_stats(conn)
                skip_fences(conn)  # a purge of the old location, which is fenced after the switch
                n = conn.execute(
                    sql.SQL(
                        'DELETE FROM {t} WHERE "organizationId" = %s AND id IN '
                        '(SELECT id FROM {t} WHERE "organizationId" = %s ORDER BY id LIMIT %s)'
                    ).format(t=_table(table)),
                    (org_id, org_id, batch),
                ).rowcount
            deleted += n
            if n < batch:
                break
    return deleted


def _resume_point(src, dst, table: str, org_id: str) -> tuple[str | None, bool]:
    """(last id already copied, whether the target holds exactly the source's rows up to it)."""
    last = dst.execute(
        sql.SQL('SELECT max(id) FROM {} WHERE "organizationId" = %s').format(_table(table)), (org_id,)
    ).fetchone()[0]
    if last is None:
        return None, True
    return last, table_state(src, table, org_id, last) == table_state(dst, table, org_id, last)


def copy_table(
    src, dst, table: str, org_id: str, last: str | None, batch: int, progress: Callable[[str, int], None]
) -> int:
    """Copy the rows after last (the target's last id, None for an empty target), a committed batch at a time."""
    copied = 0
    cols, name = column_list(table), _table(table)
    while True:
        after = sql.SQL("AND id > %s") if last is not None else sql.SQL("")
        params = (org_id, last) if last is not None else (org_id,)
        upper = src.execute(
            sql.SQL('SELECT id FROM {t} WHERE "organizationId" = %s {after} ORDER BY id OFFSET %s LIMIT 1').format(
                t=name, after=after
            ),
            (*params, batch - 1),
        ).fetchone()
        until = sql.SQL("AND id <= %s") if upper else sql.SQL("")
        bounds = (*params, upper[0]) if upper else params
        with dst.transaction():
            # Donor rows arrive with their stats: the Donation triggers must not count gifts twice.
            skip_giving_stats(dst)
            with (
                src.cursor().copy(
                    sql.SQL(
                        'COPY (SELECT {cols} FROM {t} WHERE "organizationId" = %s {after} {until} '
                        "ORDER BY id) TO STDOUT (FORMAT BINARY)"
                    ).format(cols=cols, t=name, after=after, until=until),
                    bounds,
                ) as out,
                dst.cursor().copy(
                    sql.SQL("COPY {t} ({cols}) FROM STDIN (FORMAT BINARY)").format(t=name, cols=cols)
                ) as into,
            ):
                for block in out:
                    into.write(block)
            n = dst.execute(
                sql.SQL('SELECT count(*) FROM {t} WHERE "organizationId" = %s {after} {until}').format(
                    t=name, after=after, until=until
                ),
                bounds,
            ).fetchone()[0]
        src.rollback()  # end the source's read transaction between batches
        copied += n
        progress(table, n)
        if not upper:
            return copied
        last = upper[0]


def transfer(
    source: WritableDatabase,
    target: WritableDatabase,
    org_id: str,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[str, int], None] = lambda table, n: None,
    before_verify: Callable[[], None] = lambda: None,
) -> TransferReport:
    """Copy and verify; raises TransferError when the copies differ (nothing is switched then).
    before_verify runs between the two (a move fences the source there, so nothing written
    after the verification can be left behind)."""
    report = TransferReport()
    with source.connect() as src, target.connect() as dst:
        dst.autocommit = True
        for position, table in enumerate(TABLES):
            last, matches = _resume_point(src, dst, table, org_id)
            src.rollback()
            if not matches:  # the source changed since an earlier run: copy this table and its children again
                delete_org_rows(dst, org_id, TABLES[position:], batch)
                report.restarted.append(table)
                last = None
            report.tables[table] = copy_table(src, dst, table, org_id, last, batch, progress)
        src.rollback()
        before_verify()
        for table in TABLES:
            expected, got = table_state(src, table, org_id), table_state(dst, table, org_id)
            if expected != got:
                raise TransferError(
                    f"{table}: {got.count} rows in {target.label} but {expected.count} in {source.label}"
                    + (" (checksums differ)" if expected.count == got.count else "")
                    + "; was the organization written to during the move? Run the move again to finish it."
                )
            report.verified[table] = expected
    return report


def source_counts(endpoint: WritableDatabase, org_id: str) -> dict[str, int]:
    with endpoint.connect() as conn:
        return {
            table: conn.execute(
                sql.SQL('SELECT count(*) FROM {} WHERE "organizationId" = %s').format(_table(table)), (org_id,)
            ).fetchone()[0]
            for table in TABLES
        }
