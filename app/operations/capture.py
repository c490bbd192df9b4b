"""Change capture for online moves: what changed in the source since the move began, replayed.

While "TenantCapture" names an organization, the tenant tables' statement triggers
(migration b7e2c9d4a1f3) log the id of every row of it that is inserted, updated or
deleted into "TenantChange". A replay takes a batch of unapplied entries, reads those rows'
current state from the source and makes the target equal to it: rows that still exist are
upserted (parents first), rows that are gone are deleted (children first). Replaying an
entry twice does no harm, so a replay killed half-way is simply run again. Entries are
marked applied rather than deleted: the cutover verifies every row that ever changed.

The hold: writers of a captured organization take a shared advisory lock in the trigger;
the cutover takes it exclusively (waiting at most TENANT_MOVE_MAX_PAUSE for writes in
flight), so new writes pause until it is released.
"""

from collections import defaultdict
from contextlib import contextmanager

import psycopg
from psycopg import sql

from app.models.tenant import skip_giving_stats
from app.operations.fences import skip_fences
from app.operations.transfer import TABLE_COLUMNS, TABLES, column_list, row_digests

HOLD_LOCK_CLASS = 7341  # the first key of the hold's advisory lock, as in the trigger


def start(conn: psycopg.Connection, org_id: str, moving_to: str) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO "TenantCapture" ("organizationId", "movingTo") VALUES (%s, %s)
               ON CONFLICT ("organizationId") DO NOTHING""",
            (org_id, moving_to),
        )


def active(conn: psycopg.Connection, org_id: str) -> bool:
    row = conn.execute('SELECT 1 FROM "TenantCapture" WHERE "organizationId" = %s', (org_id,)).fetchone()
    conn.rollback()
    return row is not None


def stop(conn: psycopg.Connection, org_id: str) -> None:
    """No capture objects of the organization are left behind. A writer that saw the capture
    holds the organization's shared lock until it commits: once the capture is gone, taking
    the lock exclusively waits for those, and their changes are removed with the rest (a
    writer that waited for the lock finds no capture when its statement goes on)."""
    with conn.transaction():
        conn.execute('DELETE FROM "TenantCapture" WHERE "organizationId" = %s', (org_id,))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (HOLD_LOCK_CLASS, org_id))
        conn.execute('DELETE FROM "TenantChange" WHERE "organizationId" = %s', (org_id,))


def backlog(conn: psycopg.Connection, org_id: str) -> int:
    row = conn.execute(
        'SELECT count(*) FROM "TenantChange" WHERE "organizationId" = %s AND NOT applied', (org_id,)
    ).fetchone()
    conn.rollback()
    return row[0]


def touched(conn: psycopg.Connection, org_id: str, unverified: bool = False) -> dict[str, list[str]]:
    """Every row id of the organization that changed since the capture began (or that has a
    change not verified yet), by table."""
    condition = " AND NOT verified" if unverified else ""
    return by_table(
        conn.execute('SELECT "table", "rowId" FROM "TenantChange" WHERE "organizationId" = %s' + condition, (org_id,))
    )


def by_table(entries) -> dict[str, list[str]]:
    """(table, row id) pairs as each tenant table's distinct ids, sorted."""
    ids = defaultdict(set)
    for table, row_id in entries:
        ids[table].add(row_id)
    return {table: sorted(ids[table]) for table in TABLES}


def verify_applied(src: psycopg.Connection, dst: psycopg.Connection, org_id: str) -> int:
    """Before the hold: mark verified the applied changes whose rows are the same on both
    sides, read in one source snapshot (a change committed after it is not marked, and a row
    written again since has a newer, unverified change). The hold then only has to check the
    rows of unverified changes: the last seconds of writes, not the whole move's."""
    src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    entries = src.execute(
        'SELECT id, "table", "rowId" FROM "TenantChange" WHERE "organizationId" = %s AND applied AND NOT verified',
        (org_id,),
    ).fetchall()
    same = []
    for table in TABLES:
        ids = sorted({row_id for _, t, row_id in entries if t == table})
        if ids:
            here, there = row_digests(src, table, org_id, ids), row_digests(dst, table, org_id, ids)
            same += [entry for entry, t, row_id in entries if t == table and here.get(row_id) == there.get(row_id)]
    src.rollback()
    with src.transaction():
        src.execute('UPDATE "TenantChange" SET verified = true WHERE id = ANY(%s)', (same,))
    return len(same)


def replay(src: psycopg.Connection, dst: psycopg.Connection, org_id: str, limit: int = 5000) -> int:
    """Apply one batch of unapplied changes; the number of entries applied (0: caught up)."""
    with src.transaction():
        entries = src.execute(
            """UPDATE "TenantChange" SET applied = true WHERE id IN (
                 SELECT id FROM "TenantChange" WHERE "organizationId" = %s AND NOT applied ORDER BY id LIMIT %s)
               RETURNING "table", "rowId" """,
            (org_id, limit),
        ).fetchall()
        if entries:
            apply(src, dst, org_id, by_table(entries))
    return len(entries)


def apply(src: psycopg.Connection, dst: psycopg.Connection, org_id: str, ids: dict[str, list[str]]) -> None:
    """Make the target's rows with these ids equal to the source's, in one target transaction."""
    with dst.transaction():
        skip_giving_stats(dst)  # rows arrive with their totals, as the source's triggers keep them
        skip_fences(dst)
        for table in reversed(TABLES):  # children first: gone from the source, gone here
            if ids[table]:
                dst.execute(
                    sql.SQL('DELETE FROM {t} WHERE "organizationId" = %s AND id = ANY(%s) AND NOT id = ANY(%s)').format(
                        t=sql.Identifier(table)
                    ),
                    (org_id, ids[table], _present(src, table, org_id, ids[table])),
                )
        for table in TABLES:  # parents first: inserted or updated
            if ids[table]:
                _upsert(src, dst, table, org_id, ids[table])


def _present(src: psycopg.Connection, table: str, org_id: str, ids: list[str]) -> list[str]:
    query = sql.SQL('SELECT id FROM {t} WHERE "organizationId" = %s AND id = ANY(%s)').format(t=sql.Identifier(table))
    return [row[0] for row in src.execute(query, (org_id, ids))]


def _upsert(src: psycopg.Connection, dst: psycopg.Connection, table: str, org_id: str, ids: list[str]) -> None:
    name, cols = sql.Identifier(table), column_list(table)
    staging = sql.Identifier(f"replay_{table}")
    dst.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {s} (LIKE {t}) ON COMMIT DELETE ROWS").format(s=staging, t=name)
    )
    query = sql.SQL('COPY (SELECT {c} FROM {t} WHERE "organizationId" = %s AND id = ANY(%s)) TO STDOUT (FORMAT BINARY)')
    with (
        src.cursor().copy(query.format(c=cols, t=name), (org_id, ids)) as out,
        dst.cursor().copy(sql.SQL("COPY {s} ({c}) FROM STDIN (FORMAT BINARY)").format(s=staging, c=cols)) as into,
    ):
        for block in out:
            into.write(block)
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in TABLE_COLUMNS[table] if c != "id"
    )
    # An id held by another organization in the target is never overwritten (the verification then fails).
    dst.execute(
        sql.SQL(
            "INSERT INTO {t} ({c}) SELECT {c} FROM {s} ON CONFLICT (id) DO UPDATE SET {u} "
            'WHERE {t}."organizationId" = EXCLUDED."organizationId"'
        ).format(t=name, c=cols, s=staging, u=updates)
    )


@contextmanager
def hold(conn: psycopg.Connection, org_id: str, max_pause: float):
    """Hold the organization's writes on the source (conn in autocommit). Yields False when
    the writes in flight did not finish within max_pause: nothing is held then."""
    conn.execute(f"SET lock_timeout = {max(1, int(max_pause * 1000))}")
    try:
        conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (HOLD_LOCK_CLASS, org_id))
    except psycopg.errors.LockNotAvailable:
        yield False
        return
    finally:
        conn.execute("RESET lock_timeout")
    try:
        yield True
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (HOLD_LOCK_CLASS, org_id))
