"""Idle pooled connections are pinged before use; a stale one is replaced, not handed out."""

import time

from sqlalchemy import create_engine, text

from app.pooling import ping_when_idle
from tests.helpers import sql


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def test_a_connection_killed_while_idle_is_replaced_on_checkout(databases):
    url = databases["main"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = ping_when_idle(create_engine(url, pool_size=1, max_overflow=0), idle_seconds=0.2)
    try:
        first = backend_pid(engine)
        sql(databases["main"], "SELECT pg_terminate_backend(%s)", (first,))
        time.sleep(0.3)
        assert backend_pid(engine) != first  # pinged, found dead, replaced: the caller saw nothing
    finally:
        engine.dispose()


def test_only_idle_connections_are_pinged(databases):
    url = databases["main"].replace("postgresql://", "postgresql+psycopg://", 1)
    for idle_seconds, expected_pings in ((60, 0), (0, 3)):
        engine = ping_when_idle(create_engine(url, pool_size=1, max_overflow=0), idle_seconds=idle_seconds)
        pings, ping = [], engine.dialect.do_ping
        engine.dialect.do_ping = lambda dbapi_connection: pings.append(1) or ping(dbapi_connection)
        try:
            assert len({backend_pid(engine) for _ in range(3)}) == 1
            assert len(pings) == expected_pings
        finally:
            engine.dispose()
