"""A move yields to live traffic: while other sessions commit on the servers it works on, it
keeps one server process busy at a time.

A move at full speed streams COPY out of one server process into another (and builds indexes
with parallel workers, and checksums both sides at once): on a small server, every core. A
platform writer that wakes up then waits for a core, and its p99 went from 2-4 ms to 11-22 ms
(bench/move_online.py, 2 cores). Yielding (a batch read whole, then written; indexes built
without parallel workers; the two sides of a checksum one after the other) leaves a core to
the writers, at a cost in speed. When nobody else commits, the move runs at full speed (the
ratio in bench/move.py). TENANT_MOVE_YIELD=always or never overrides the detection.
"""

import time
from collections import deque

import psycopg
from sqlalchemy.engine import URL

# Others' commits a second above which a move yields: a platform writing (hundreds a second),
# not the console's own progress rows or a health check.
LIVE_COMMITS_PER_S = 10.0
SAMPLE_EVERY = 0.25  # seconds between two looks at the counters
# Server processes publish their counts about once a second: a rate is taken over 1 to 2 s.
WINDOW = (1.0, 2.0)

# Commits in every database of the server but the move's target (where the move commits its
# batches); the snapshot cleared so that each call reads fresh figures (stats_fetch_consistency).
OTHERS_COMMITS = """SELECT (SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database
                            WHERE datname IS DISTINCT FROM %s)
                    FROM pg_stat_clear_snapshot()"""


class Traffic:
    """Whether the move should yield: others are committing on the source's or the target's
    server (conns: autocommit connections, one to each), or TENANT_MOVE_YIELD says always."""

    def __init__(self, conns: list[psycopg.Connection], target_database: str, mode: str = "auto"):
        self.conns, self.target_database, self.mode = conns, target_database, mode
        self.live = mode == "always"
        self.samples: deque[tuple[float, int]] = deque()
        if mode == "auto":
            self._sample()

    def _sample(self) -> None:
        commits = sum(int(c.execute(OTHERS_COMMITS, (self.target_database,)).fetchone()[0]) for c in self.conns)
        self.samples.append((time.monotonic(), commits))

    def __call__(self) -> bool:
        if self.mode != "auto" or time.monotonic() - self.samples[-1][0] < SAMPLE_EVERY:
            return self.live
        self._sample()
        now, commits = self.samples[-1]
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW[1]:
            self.samples.popleft()
        since, before = self.samples[0]
        if now - since >= WINDOW[0]:
            self.live = (commits - before) / (now - since) >= LIVE_COMMITS_PER_S
        return self.live


def same_server(a: URL, b: URL) -> bool:
    return (a.host, a.port or 5432) == (b.host, b.port or 5432)
