"""Loading an empty target the way pg_restore does: rows into bare tables, then the indexes.

COPY into indexed tables maintains every index row by row; building each index once over
the loaded rows is several times faster. When a move starts on a target whose tenant tables
hold no row at all, its secondary indexes and foreign keys are dropped (their definitions
kept with the source's capture row, so a killed move rebuilds them on its next run or on
--abort) and built again after the copy, before the catch-up. The primary keys stay: the
replay's upserts use them. With the foreign keys aside, a child row goes in straight even
when its parent, inserted by a writer behind the copy, is still to be replayed; so the keys
come back NOT VALID (enforced for every new row) and are validated once the move has
switched, when every replayed parent is there (validate_keys, re-run safe).
"""

import json

import psycopg
from psycopg import sql

from app.operations.transfer import TABLES

INDEXES = """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
              WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'f')"""
FOREIGN_KEYS = """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                   WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])"""
QUOTED_TABLES = [f'"{table}"' for table in TABLES]


def empty(dst: psycopg.Connection) -> bool:
    """No tenant table of the target holds a row, of any organization."""
    return not any(
        dst.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(t))).fetchone() for t in TABLES
    )


def set_aside(src: psycopg.Connection, dst: psycopg.Connection, org_id: str) -> None:
    """Record the target's indexes and foreign keys with the capture, then drop them."""
    indexes = [row[0] for row in dst.execute(INDEXES, (QUOTED_TABLES,))]
    keys = [list(row) for row in dst.execute(FOREIGN_KEYS, (QUOTED_TABLES,))]
    with src.transaction():
        src.execute(
            'UPDATE "TenantCapture" SET "deferredDdl" = %s WHERE "organizationId" = %s',
            (json.dumps({"indexes": indexes, "foreignKeys": keys}), org_id),
        )
    with dst.transaction():
        for table, name, _ in keys:
            dst.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(sql.SQL(table), sql.Identifier(name))
            )
        for definition in indexes:
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            dst.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.SQL(name)))


def _set_aside(src: psycopg.Connection, org_id: str) -> dict | None:
    """What set_aside() recorded for this move and rebuild() has not built yet."""
    row = src.execute('SELECT "deferredDdl" FROM "TenantCapture" WHERE "organizationId" = %s', (org_id,)).fetchone()
    src.rollback()
    return json.loads(row[0]) if row and row[0] else None


def deferred(src: psycopg.Connection, org_id: str) -> bool:
    """The target's indexes and foreign keys are set aside for this move."""
    return _set_aside(src, org_id) is not None


def rebuild(src: psycopg.Connection, dst: psycopg.Connection, org_id: str, parallel: bool = True) -> None:
    """Build what set_aside() dropped, if anything (also after a kill), the keys NOT VALID; then
    forget it. parallel=False: no parallel workers, one server process (pacing.py)."""
    ddl = _set_aside(src, org_id)
    if ddl is None:
        return
    dst.execute("SET maintenance_work_mem = '256MB'")
    if not parallel:
        dst.execute("SET max_parallel_maintenance_workers = 0")
    for definition in ddl["indexes"]:
        dst.execute(
            definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1).replace(
                "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1
            )
        )
    for table, name, definition in ddl["foreignKeys"]:
        if not dst.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", (name,)).fetchone():
            dst.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} " + definition + " NOT VALID").format(
                    sql.SQL(table), sql.Identifier(name)
                )
            )
    dst.execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers")
    with src.transaction():
        src.execute('UPDATE "TenantCapture" SET "deferredDdl" = NULL WHERE "organizationId" = %s', (org_id,))


def validate_keys(dst: psycopg.Connection) -> None:
    """Validate the tenant tables' foreign keys that rebuild() left NOT VALID (a scan that
    blocks no writer: SHARE UPDATE EXCLUSIVE)."""
    pending = dst.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        " WHERE contype = 'f' AND NOT convalidated AND conrelid = ANY(%s::regclass[])",
        (QUOTED_TABLES,),
    ).fetchall()
    for table, name in pending:
        dst.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(sql.SQL(table), sql.Identifier(name)))
