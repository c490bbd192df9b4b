"""Pooled connections are pinged before use only after sitting idle for a while.

SQLAlchemy's pool_pre_ping pings on every checkout: three extra round trips on every
donor page (the signed-in admin, the audit row, the tenant rows). A connection used a
moment ago is alive unless its server went away within that moment; the one request
that finds out then gets the 503 page, SQLAlchemy drops every connection of that pool,
and the next request starts afresh. Connections idle longer than IDLE_BEFORE_PING
(which proxies such as PgBouncer or RDS Proxy may have closed) are pinged as before.
"""

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError

IDLE_BEFORE_PING = 5.0  # seconds


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_BEFORE_PING) -> Engine:
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection, record) -> None:
        if record is not None:  # checkin of a connection already invalidated
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool replaces this connection (and every older one) and tries again.
            raise InvalidatePoolError("stale connection found by the idle ping") from exc

    return engine
