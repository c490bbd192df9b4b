"""One engine per distinct tenant database URL per process, in a bounded LRU.

The connections a process can hold to tenant databases are bounded by
capacity x (pool_size + max_overflow), however many organizations there are.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from app.pooling import ping_when_idle
from app.tenancy.targets import TargetPolicy
from app.tenancy.urls import behind_pooler, for_driver, mask

APPLICATION_NAME = "tenant-console"


@dataclass
class EngineEntry:
    engine: Engine
    masked: str
    # Failure memory: while now < failed_until, requests don't wait the connect timeout again.
    last_error: str | None = None
    last_error_code: str | None = None
    failed_until: float = 0.0
    schema_ok: bool = False

    def failing(self) -> bool:
        return time.monotonic() < self.failed_until

    def mark_failed(self, code: str, message: str, retry_after: float) -> bool:
        """Remember a failure; True when it is new (not within an earlier failure window)."""
        new = not self.failing()
        self.last_error_code, self.last_error = code, message
        self.failed_until = time.monotonic() + retry_after
        self.schema_ok = False
        return new

    def mark_ok(self) -> None:
        self.failed_until = 0.0
        self.last_error = self.last_error_code = None


@dataclass
class Counters:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    disposals: int = 0
    fallbacks: int = 0


class EngineRegistry:
    def __init__(
        self,
        *,
        capacity: int,
        pool_size: int,
        max_overflow: int,
        connect_timeout: int,
        statement_timeout: float,
        policy: TargetPolicy | None = None,
    ):
        self.policy = policy
        self.capacity = max(1, capacity)
        self.pool_size, self.max_overflow = pool_size, max_overflow
        self.connect_timeout, self.statement_timeout = connect_timeout, statement_timeout
        self.counters = Counters()
        self._entries: OrderedDict[str, EngineEntry] = OrderedDict()
        self._org_keys: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key_for(url: URL) -> str:
        return url.render_as_string(hide_password=False)

    def get(self, url: URL, org_id: str | None = None) -> EngineEntry:
        key = self.key_for(url)
        evicted: list[EngineEntry] = []
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.counters.hits += 1
            else:
                self.counters.misses += 1
                entry = EngineEntry(engine=self.create_engine(url), masked=mask(url))
                self._entries[key] = entry
                while len(self._entries) > self.capacity:
                    _, old = self._entries.popitem(last=False)
                    self.counters.evictions += 1
                    evicted.append(old)
            if org_id is not None:
                evicted += self._rebind(org_id, key)
        for old in evicted:  # outside the lock: dispose may wait on the network
            self._dispose(old)
        return entry

    def release(self, org_id: str) -> None:
        """The organization left its dedicated database (cleared or changed): drop its engine."""
        with self._lock:
            stale = self._rebind(org_id, None)
        for old in stale:
            self._dispose(old)

    def forget(self, org_id: str) -> None:
        """Another process changed the organization's route: drop the engine it used here, with
        its failure and schema memory (its next request starts afresh). "" forgets them all."""
        if not org_id:
            self.dispose_all()
            return
        with self._lock:
            key = self._org_keys.pop(org_id, None)
            entry = self._entries.pop(key, None) if key else None
        if entry is not None:
            self._dispose(entry)

    def _rebind(self, org_id: str, key: str | None) -> list[EngineEntry]:
        # Called with the lock held. An engine no organization uses any more is disposed
        # at once, so a changed or cleared URL leaves no connection open to the old database.
        previous = self._org_keys.get(org_id)
        if key is None:
            self._org_keys.pop(org_id, None)
        else:
            self._org_keys[org_id] = key
        if previous is None or previous == key or previous in self._org_keys.values():
            return []
        old = self._entries.pop(previous, None)
        return [old] if old else []

    def _dispose(self, entry: EngineEntry) -> None:
        entry.engine.dispose()
        self.counters.disposals += 1

    def entries(self, org_ids: frozenset[str] | None = None) -> list[EngineEntry]:
        """Every cached engine, or those the given organizations use."""
        with self._lock:
            if org_ids is None:
                return list(self._entries.values())
            keys = {key for org_id, key in self._org_keys.items() if org_id in org_ids}
            return [entry for key, entry in self._entries.items() if key in keys]

    def dispose_all(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
            self._org_keys.clear()
        for entry in entries:
            self._dispose(entry)

    @property
    def connection_bound(self) -> int:
        return self.capacity * (self.pool_size + self.max_overflow)

    def create_engine(self, url: URL) -> Engine:
        engine = make_read_only_engine(
            url,
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            connect_timeout=self.connect_timeout,
            statement_timeout=self.statement_timeout,
        )
        if self.policy is not None:
            policy = self.policy

            @event.listens_for(engine, "do_connect")
            def _check_target(_dialect, _record, _cargs, cparams):
                # Every new connection re-checks the target and connects to the address checked.
                addresses = policy.check(url)
                if addresses:
                    cparams["hostaddr"] = addresses[0]
                cparams.update(policy.connect_extras())

            @event.listens_for(engine, "connect")
            def _check_identity(dbapi_connection, _record):
                if url.get_backend_name() == "postgresql":
                    policy.check_identity(dbapi_connection)

        return engine


def pool_options(pool_size: int, max_overflow: int, connect_timeout: int) -> dict:
    if pool_size == 0:  # no client-side pool: a pooler in front of the database is the only one
        return {"poolclass": NullPool}
    # A full pool waits no longer than a connect would: the request then fails fast.
    return {"pool_size": pool_size, "max_overflow": max_overflow, "pool_recycle": 1800, "pool_timeout": connect_timeout}


def make_read_only_engine(
    url: URL, *, pool_size: int, max_overflow: int, connect_timeout: int, statement_timeout: float
) -> Engine:
    """An engine whose every connection is read-only at the database and time-bounded.

    TENANT_POOL_SIZE=0 keeps no connection between uses (NullPool): for deployments where a
    pooler in front of the database is the only pool."""
    pool = pool_options(pool_size, max_overflow, connect_timeout)
    if url.get_backend_name() == "sqlite":
        engine = ping_when_idle(create_engine(url, **pool))

        @event.listens_for(engine, "connect")
        def _query_only(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA query_only = ON")

        return engine
    timeout_ms = int(statement_timeout * 1000)
    connect_args = {
        "connect_timeout": connect_timeout,
        # Nothing is prepared on the server: every statement is planned for its own values
        # (a generic plan cannot use the search indexes: a search for a rare name would walk
        # the organization's whole index), and transaction-mode poolers before PgBouncer 1.21
        # lose prepared statements between transactions.
        "prepare_threshold": None,
    }
    if "application_name" not in url.query:
        connect_args["application_name"] = APPLICATION_NAME
    if not behind_pooler(url):
        connect_args["options"] = f"-c statement_timeout={timeout_ms} -c default_transaction_read_only=on"
        # Pages only read: each statement on its own, with no BEGIN and ROLLBACK round trips
        # around them. The CSV export asks for one snapshot (app/donors/export.py).
        return ping_when_idle(
            create_engine(for_driver(url), isolation_level="AUTOCOMMIT", connect_args=connect_args, **pool)
        )
    # A transaction-mode pooler refuses start-up options and lends a server connection for one
    # transaction only: each use is a read-only transaction (psycopg's BEGIN READ ONLY) that
    # sets its own statement timeout, and no state outlives it.
    engine = create_engine(
        for_driver(url), execution_options={"postgresql_readonly": True}, connect_args=connect_args, **pool
    )

    @event.listens_for(engine, "begin")
    def _bounded(connection):
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout_ms}")

    return ping_when_idle(engine)
