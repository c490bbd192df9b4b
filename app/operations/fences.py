"""Move fences: after a move, the old location refuses any write of the organization's rows.

The fence is a row in "TenantFence" of the database the rows left; triggers on the four
tenant tables turn any insert, update or delete of that organization's rows there into
SQLSTATE 55000, "organization <id> moved to another database at <time>; re-read its
databaseUrl" (migration b7e2c9d4a1f3; docs/platform.md tells writers what to do with it).
Moving back lifts it. A move's own bulk work (a copy, a purge) sets tenant_fence.skip.
"""

import psycopg

from app.models.tenant import SKIP_FENCES

FENCE_SQLSTATE = "55000"


def install(conn: psycopg.Connection, org_id: str, moved_to: str) -> None:
    """Fence org_id in the database of conn; moved_to is the masked new location (no password)."""
    with conn.transaction():
        conn.execute(
            """INSERT INTO "TenantFence" ("organizationId", "movedTo") VALUES (%s, %s)
               ON CONFLICT ("organizationId") DO UPDATE SET "movedAt" = now(), "movedTo" = EXCLUDED."movedTo" """,
            (org_id, moved_to),
        )


def lift(conn: psycopg.Connection, org_id: str) -> bool:
    """The organization's rows live here again: its writes are accepted. True if a fence was there."""
    with conn.transaction():
        return conn.execute('DELETE FROM "TenantFence" WHERE "organizationId" = %s', (org_id,)).rowcount > 0


def skip_fences(conn) -> None:
    """In this transaction, the move's own writes pass the fences (conn: a psycopg connection or cursor)."""
    conn.execute(SKIP_FENCES)


def is_fence_error(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == FENCE_SQLSTATE and "moved to another database" in str(exc)
