"""The pieces a move and a backup are built of: one organization's rows between databases.

COPY in committed batches walked in id order (resumable from the target's last id), an
order-independent checksum of every column per table, counts, and batched deletes. The
online move (online.py) puts them together with change capture (capture.py).
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
    warnings: list[str] = field(default_factory=list)  # after the switch: the move is done, this is not


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


def table_state(
    conn: psycopg.Connection,
    table: str,
    org_id: str,
    up_to: str | None = None,
    ids: list[str] | None = None,
    excluding: list[str] | None = None,
) -> TableState:
    """Row count and a checksum of every column: the sum of each row's md5, so order does not matter.
    Only the rows whose id is at most up_to, among ids, or not among excluding, when given."""
    where, params = [sql.SQL('"organizationId" = %s')], [org_id]
    for value, condition in ((up_to, "id <= %s"), (ids, "id = ANY(%s)"), (excluding, "NOT id = ANY(%s)")):
        if value is not None:
            where.append(sql.SQL(condition))
            params.append(value)
    row = conn.execute(
        sql.SQL(
            "SELECT count(*),"
            " coalesce(sum(('x' || substr(md5(ROW({cols})::text), 1, 16))::bit(64)::bigint::numeric), 0)"
            " FROM {table} WHERE {where}"
        ).format(cols=column_list(table), table=_table(table), where=sql.SQL(" AND ").join(where)),
        params,
    ).fetchone()
    return TableState(row[0], str(row[1]))


def row_digests(conn: psycopg.Connection, table: str, org_id: str, ids: list[str]) -> dict[str, str]:
    """id -> md5 of every column, for the rows among ids."""
    query = sql.SQL('SELECT id, md5(ROW({cols})::text) FROM {t} WHERE "organizationId" = %s AND id = ANY(%s)')
    return dict(conn.execute(query.format(cols=column_list(table), t=_table(table)), (org_id, ids)).fetchall())


def org_counts(conn: psycopg.Connection, org_id: str) -> dict[str, int]:
    query = 'SELECT count(*) FROM {} WHERE "organizationId" = %s'
    return {t: conn.execute(sql.SQL(query).format(_table(t)), (org_id,)).fetchone()[0] for t in TABLES}


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


# A child row whose parent is not in the target yet waits for the replay: while the
# organization is written to, a parent may be inserted behind the copy's position, and
# both rows were then captured (app/operations/capture.py).
PARENTS = {
    "DonorPreference": 'EXISTS (SELECT 1 FROM "Donor" p WHERE p.id = s."donorId")',
    "Donation": 'EXISTS (SELECT 1 FROM "Donor" p WHERE p.id = s."donorId") AND '
    '(s."campaignId" IS NULL OR EXISTS (SELECT 1 FROM "Campaign" c WHERE c.id = s."campaignId"))',
}


def _copy_into(dst, table: str, straight: bool) -> sql.Composed:
    """COPY straight into the table, or into a staging table for a table with parents."""
    target = sql.Identifier(table)
    if table in PARENTS and not straight:
        target = sql.Identifier(f"copy_{table}")
        dst.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {s} (LIKE {t}) ON COMMIT DELETE ROWS").format(
                s=target, t=sql.Identifier(table)
            )
        )
    return sql.SQL("COPY {t} ({cols}) FROM STDIN (FORMAT BINARY)").format(t=target, cols=column_list(table))


def _keep_rows_with_parents(dst, table: str) -> int:
    cols = column_list(table)
    return dst.execute(
        sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s} s WHERE " + PARENTS[table]).format(
            t=sql.Identifier(table), c=cols, s=sql.Identifier(f"copy_{table}")
        )
    ).rowcount


def foreign_references(conn: psycopg.Connection, org_id: str) -> list[str]:
    """Rows of org_id whose parent (by "donorId" or "campaignId") is another organization's:
    they cannot move into a database of its own (caught before anything is copied)."""
    found = []
    for child, parent, column in (
        ("Donation", "Donor", "donorId"),
        ("Donation", "Campaign", "campaignId"),
        ("DonorPreference", "Donor", "donorId"),
    ):
        n = conn.execute(
            sql.SQL(
                'SELECT count(*) FROM {c} s WHERE s."organizationId" = %s AND s.{col} IS NOT NULL AND NOT EXISTS '
                '(SELECT 1 FROM {p} p WHERE p."organizationId" = %s AND p.id = s.{col})'
            ).format(c=_table(child), p=_table(parent), col=sql.Identifier(column)),
            (org_id, org_id),
        ).fetchone()[0]
        if n:
            found.append(f"{n} {child} rows point at another organization's {parent} ({column})")
    return found


def copy_table(
    src,
    dst,
    table: str,
    org_id: str,
    last: str | None,
    batch: int,
    progress: Callable[[str, int], None],
    straight: bool = False,
    written: Callable[[int], None] = lambda size: None,
) -> int:
    """Copy the rows after last (the target's last id, None for an empty target), a committed batch at a time.

    straight: the target's foreign keys are set aside (bulk_load.py), so a child row whose
    parent is still to be replayed may go in at once, without the staging table's check.
    written(size): called after each block of COPY data (pacing.WalGap)."""
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
            source = sql.SQL(
                'COPY (SELECT {cols} FROM {t} WHERE "organizationId" = %s {after} {until} ORDER BY id) TO STDOUT '
                "(FORMAT BINARY)"
            ).format(cols=cols, t=name, after=after, until=until)
            into_cursor = dst.cursor()
            with src.cursor().copy(source, bounds) as out, into_cursor.copy(_copy_into(dst, table, straight)) as into:
                for block in out:
                    into.write(block)
                    written(len(block))
            n = into_cursor.rowcount
            if table in PARENTS and not straight:
                n = _keep_rows_with_parents(dst, table)
        src.rollback()  # end the source's read transaction between batches
        copied += n
        progress(table, n)
        if not upper:
            return copied
        last = upper[0]


def source_counts(database: WritableDatabase, org_id: str) -> dict[str, int]:
    with database.connect() as conn:
        return org_counts(conn, org_id)
