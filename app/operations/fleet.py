"""Fleet health, per distinct database: size, connections against its limit, activity since
the last sample, and the organizations it serves with their donor counts.

Read on the connection that `tenants status` and /fleet already open to test each
database (probe's inspect), inside its read-only transaction and statement timeout.
Activity is a difference between two samples of pg_stat_database; the previous sample of
each database is kept in this process's memory only, so the first look shows the
counters since the server's statistics were reset, and rates from the second look on.
"""

import threading
import time
from dataclasses import dataclass, field

import psycopg

TOP = 5
MAIN_TARGET = "main database"  # the target shown for the organizations it serves
REMEMBERED = 10_000  # databases whose last sample is kept for rates

STATS = """
SELECT pg_database_size(current_database()), s.numbackends,
       nullif(d.datconnlimit, -1), nullif(r.rolconnlimit, -1),
       current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
       s.xact_commit, s.xact_rollback, s.deadlocks, s.temp_bytes, s.blks_hit, s.blks_read
FROM pg_stat_database s JOIN pg_database d ON d.oid = s.datid LEFT JOIN pg_roles r ON r.rolname = current_user
WHERE s.datname = current_database()"""
DONORS = """SELECT "organizationId", count(*) FROM "Donor" WHERE "organizationId" = ANY(%s) GROUP BY 1"""


@dataclass
class Counters:
    at: float
    commits: int
    rollbacks: int
    deadlocks: int
    temp_bytes: int
    hits: int
    reads: int


_previous: dict[str, Counters] = {}
_lock = threading.Lock()
unreachable: set[str] = set()  # databases whose last test failed at the network level: tested first next time


def remember_reachability(key: str, reached: bool) -> None:
    with _lock:
        if reached:
            unreachable.discard(key)
        elif len(unreachable) < REMEMBERED:
            unreachable.add(key)


def inspector(key: str, org_ids: list[str]):
    """What a probe reads besides its test: key names the database (masked), for the rates."""

    def inspect(conn: psycopg.Connection) -> dict:
        try:
            with conn.transaction():  # a savepoint: a failure here leaves the test's result alone
                details = _health(key, conn)
                if conn.execute("""SELECT to_regclass('"Donor"') IS NOT NULL""").fetchone()[0]:
                    details["donors"] = dict(conn.execute(DONORS, (org_ids,)).fetchall())
                return details
        except psycopg.Error:  # statement timeout, missing privilege: the test's result stands
            return {}

    return inspect


def _health(key: str, conn: psycopg.Connection) -> dict:
    size, connections, db_limit, role_limit, server_limit, *counters = conn.execute(STATS).fetchone()
    now = Counters(time.monotonic(), *counters)
    with _lock:
        before = _previous.get(key)
        if len(_previous) >= REMEMBERED:
            _previous.clear()
        _previous[key] = now
    since = before or Counters(0.0, 0, 0, 0, 0, 0, 0)
    interval = now.at - before.at if before else None
    blocks = (now.hits - since.hits) + (now.reads - since.reads)
    return {
        "size_bytes": size,
        "connections": connections,
        "connection_limit": min(limit for limit in (db_limit, role_limit, server_limit) if limit is not None),
        "commits_per_s": round((now.commits - since.commits) / interval, 1) if interval else None,
        "rollbacks_per_s": round((now.rollbacks - since.rollbacks) / interval, 1) if interval else None,
        "deadlocks": now.deadlocks - since.deadlocks,
        "temp_bytes": now.temp_bytes - since.temp_bytes,
        "cache_hit_ratio": round((now.hits - since.hits) / blocks, 4) if blocks else None,
        "sampled_over_s": round(interval, 1) if interval else None,  # None: since the statistics reset
    }


@dataclass
class DatabaseRow:
    """One database of the fleet, with the organizations (in scope) that it serves."""

    target: str
    code: str | None
    message: str
    health: dict
    organizations: list = field(default_factory=list)  # OrgStatus

    @property
    def connections_ratio(self) -> float | None:
        limit = self.health.get("connection_limit")
        return self.health["connections"] / limit if limit else None


def databases(statuses) -> list[DatabaseRow]:
    """Group the statuses of tenants status by the database that serves them."""
    rows: dict[str, DatabaseRow] = {}
    for status in statuses:
        row = rows.get(status.target)
        if row is None:
            row = rows[status.target] = DatabaseRow(status.target, status.code, status.message, status.database)
        row.organizations.append(status)
    return sorted(rows.values(), key=lambda row: (row.target != MAIN_TARGET, row.target))


def busiest(rows: list[DatabaseRow]) -> list[DatabaseRow]:
    """By transactions per second once two samples exist, by connections in use before that."""
    measured = [row for row in rows if row.health]
    return sorted(
        measured,
        key=lambda r: ((r.health["commits_per_s"] or 0) + (r.health["rollbacks_per_s"] or 0), r.health["connections"]),
        reverse=True,
    )[:TOP]


def fullest(rows: list[DatabaseRow]) -> list[DatabaseRow]:
    return sorted((row for row in rows if row.health), key=lambda r: r.health["size_bytes"], reverse=True)[:TOP]
