"""Fixtures: a real PostgreSQL server, a fresh main database and two dedicated tenant
databases per test session (copies of a migrated template), and apps bound to them."""

import ipaddress
import logging
import os
import socket

import psycopg
import pytest
from hypothesis import settings

from tests import pgserver
from tests.helpers import SECRETS, TABLES, migrate_database

# Property tests: the same examples on every CI run (a failure there is reproducible); a
# developer's run keeps exploring, and what it finds becomes a fixed bug plus an @example.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# What the app said over the whole run: response bodies, log records, audit rows.
SEEN: list[str] = []


class Recorder(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        SEEN.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def no_secret_ever_leaves():
    """At the end of the run: no canary password and no encryption key in any response, log or audit row."""
    recorder = Recorder()
    logging.getLogger().addHandler(recorder)
    yield
    logging.getLogger().removeHandler(recorder)
    leaks = sorted({secret for secret in SECRETS for text in SEEN if secret in text})
    assert not leaks, f"secrets seen in responses, logs or audit rows: {leaks}"


class NonLocalAddress(AssertionError):
    pass


def check_loopback(address) -> None:
    """The suite talks to 127.0.0.0/8 and ::1 only (and Unix sockets), ever."""
    if isinstance(address, (str, bytes)):
        return  # a Unix socket path
    host = address[0]
    if host == "localhost" or ipaddress.ip_address(host).is_loopback:
        return
    raise NonLocalAddress(f"the test suite tried to reach {host}; only loopback addresses are allowed")


@pytest.fixture(scope="session", autouse=True)
def loopback_only():
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        check_loopback(address)
        return original_connect(self, address)

    def connect_ex(self, address):
        check_loopback(address)
        return original_connect_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    yield
    socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex


@pytest.fixture(scope="session")
def pg_server():
    try:
        url, cluster = pgserver.find_server()
    except RuntimeError as exc:
        pytest.exit(str(exc), returncode=3)
    check_loopback((psycopg.conninfo.conninfo_to_dict(url).get("host", "127.0.0.1"), 0))
    yield url
    if cluster:
        cluster.destroy()


@pytest.fixture(scope="session")
def template_db(pg_server):
    """A migrated database that the others are copied from (CREATE DATABASE ... TEMPLATE)."""
    name = pgserver.unique_name("tpl")
    migrate_database(pgserver.create_database(pg_server, name))
    yield name
    pgserver.drop_database(pg_server, name)


@pytest.fixture(scope="session")
def new_database(pg_server, template_db):
    """Factory: a fresh database at head (or empty with migrated=False), dropped at the end."""
    made = []

    def factory(label: str = "extra", migrated: bool = True) -> str:
        name = pgserver.unique_name(label)
        made.append(name)
        return pgserver.create_database(pg_server, name, template=template_db if migrated else None)

    yield factory
    for name in made:
        pgserver.drop_database(pg_server, name)


@pytest.fixture(scope="session")
def databases(new_database):
    return {label: new_database(label) for label in ("main", "tenant_a", "tenant_b")}


def _truncate(urls) -> None:
    tables = ", ".join(f'"{t}"' for t in TABLES)
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            # The test is over: a connection it left open (a response never closed) must not block the next one.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def make_app(databases):
    """Factory for apps on the session's main database; every test starts with empty tables."""
    from app import create_app
    from config import TestingConfig

    apps = []

    def factory(**overrides):
        overrides.setdefault("DATABASE_URL", databases["main"])
        app = create_app(TestingConfig, **overrides)

        @app.after_request
        def record_body(response):
            if not response.is_streamed:
                SEEN.append(response.get_data(as_text=True))
            SEEN.append(str(response.headers))
            return response

        apps.append(app)
        return app

    yield factory
    with psycopg.connect(databases["main"]) as conn:
        SEEN.extend(str(row) for row in conn.execute('SELECT * FROM "AuditEvent"'))
    for app in apps:
        app.extensions["tenancy"].dispose()
        if app.extensions["audit.reads"] is not None:
            app.extensions["audit.reads"].dispose()
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
    _truncate(databases.values())


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def pgbouncer(pg_server):
    """PgBouncer in transaction mode in front of the suite's server (Debian's, as the platform's pooler)."""
    from tests.pgbouncer import PgBouncer

    try:
        bouncer = PgBouncer(pg_server)
    except RuntimeError as exc:
        pytest.exit(str(exc), returncode=3)
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def password_cluster():
    """A second local cluster with password (scram) auth and no TLS: for auth_failed and ssl_failed."""
    cluster = pgserver.TempCluster(password="Sup3r-Secret-Admin")
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def owner_client(app):
    """A test client signed in as an owner of every organization."""
    from tests.helpers import add_admin, login

    add_admin(app, "owner@example.org", "owner")
    client = app.test_client()
    login(client, "owner@example.org")
    return client
