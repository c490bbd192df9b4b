"""A move yields to live traffic: while other sessions write on the servers it works on, it
leaves them room.

A move at full speed streams COPY from one server process into another, builds indexes with
parallel workers and checksums both sides at once: on a small server, every core and a WAL
stream of 50 MB/s. A platform writer then waits for a core and for its commit's WAL flush
behind the move's, and its p99 went from 2-4 ms to 11-22 ms (bench/move_online.py, 2 cores).
Yielding, the copy waits while the target's server has WAL inserted but not yet flushed
beyond WAL_GAP (the writers' commits then flush little besides their own), indexes are built
without parallel workers and the two sides of a checksum one after the other, at a cost in
speed. When nobody else writes, the move runs at full speed (the ratio in bench/move.py);
waiting on the gap then would stall it, as nothing flushes the WAL.
TENANT_MOVE_YIELD=always or never overrides the detection.
"""

import time
from collections import deque

import psycopg
from sqlalchemy.engine import URL

# Rows others write a second above which a move yields: a platform writing (hundreds a
# second), not the console's progress rows (two a second).
LIVE_ROWS_PER_S = 10.0
SAMPLE_EVERY = 0.25  # seconds between two looks at the counters
# Server processes publish their counts about once a second: a rate is taken over 1 to 2 s.
WINDOW = (1.0, 2.0)

# Rows written in every database of the server but the move's target (where the move writes
# its batches; the source it only reads until the catch-up, whose replay of a large backlog
# then counts too and is paced like the platform's writes), the snapshot cleared so that each
# call reads fresh figures (stats_fetch_consistency).
OTHERS_WRITES = """SELECT (SELECT coalesce(sum(tup_inserted + tup_updated + tup_deleted), 0)
                            FROM pg_stat_database WHERE datname IS DISTINCT FROM %s)
                    FROM pg_stat_clear_snapshot()"""


class Traffic:
    """Whether the move should yield: others are writing on the source's or the target's
    server (conns: autocommit connections, one to each), or TENANT_MOVE_YIELD says always."""

    def __init__(self, conns: list[psycopg.Connection], target_database: str, mode: str = "auto"):
        self.conns, self.target_database, self.mode = conns, target_database, mode
        self.live = mode == "always"
        self.samples: deque[tuple[float, int]] = deque()
        if mode == "auto":
            self._sample()

    def _sample(self) -> None:
        rows = sum(int(c.execute(OTHERS_WRITES, (self.target_database,)).fetchone()[0]) for c in self.conns)
        self.samples.append((time.monotonic(), rows))

    def __call__(self) -> bool:
        if self.mode != "auto" or time.monotonic() - self.samples[-1][0] < SAMPLE_EVERY:
            return self.live
        self._sample()
        now, rows = self.samples[-1]
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW[1]:
            self.samples.popleft()
        since, before = self.samples[0]
        if now - since >= WINDOW[0]:
            self.live = (rows - before) / (now - since) >= LIVE_ROWS_PER_S
        return self.live


WAL_GAP = 32 * 1024  # bytes of WAL inserted and not flushed that a yielding move lets stand
CHECK_EVERY = 64 * 1024  # bytes of COPY data between two looks at the gap
REPLAY_BATCH = 1000  # captured changes replayed at once while yielding (5,000 otherwise)
GAP = "SELECT pg_current_wal_insert_lsn() - pg_current_wal_flush_lsn()"


class WalGap:
    """Called with each block of COPY data (and settle() after each replayed batch): while
    yielding, every CHECK_EVERY bytes, waits for the target's server to flush its WAL down to
    WAL_GAP. conn: autocommit, to that server."""

    def __init__(self, conn: psycopg.Connection, yielding: "Traffic"):
        self.conn, self.yielding, self.pending = conn, yielding, 0

    def __call__(self, size: int) -> None:
        self.pending += size
        if self.pending < CHECK_EVERY:
            return
        self.pending = 0
        self.settle()

    def settle(self) -> None:
        if not self.yielding():
            return
        deadline = time.monotonic() + 0.2  # the WAL writer flushes within wal_writer_delay even with no commit
        while self.conn.execute(GAP).fetchone()[0] > WAL_GAP and time.monotonic() < deadline:
            time.sleep(0.01)


def same_server(a: URL, b: URL) -> bool:
    return (a.host, a.port or 5432) == (b.host, b.port or 5432)
