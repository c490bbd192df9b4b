"""Every classification code, produced against a real local target."""

from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.tenancy.probe import classify, probe
from app.tenancy.targets import TargetPolicy
from app.tenancy.urls import parse_database_url
from tests.helpers import sql, with_login
from tests.netfaults import SilentServer
from tests.pgserver import database_url, free_port

ORG_PASSWORD = "p@ss:w/rd%#?+é-Canary"


@pytest.fixture(scope="module")
def org_role(password_cluster):
    """A role with a password and its database, on the password cluster."""
    with psycopg.connect(password_cluster.url, autocommit=True) as conn:
        conn.execute("CREATE ROLE org_user LOGIN PASSWORD %s" % psycopg.sql.quote(ORG_PASSWORD))
        conn.execute("CREATE DATABASE org_db OWNER org_user")
    return password_cluster


def url_on(cluster, password=ORG_PASSWORD, database="org_db", query=""):
    return f"postgresql://org_user:{quote(password, safe='')}@127.0.0.1:{cluster.port}/{database}{query}"


def run_probe(text, main=None, timeout=2, **policy):
    main_url = make_url(main or "postgresql+psycopg://postgres@127.0.0.1:5432/console_main")
    url = parse_database_url(text, allow_sqlite=True)
    return probe(url, policy=TargetPolicy(main_url=main_url, **policy), connect_timeout=timeout)


def assert_safe(result, *secrets):
    for secret in secrets:
        assert secret not in result.message and secret not in result.hint


def test_ok_reports_version_latency_and_revision(databases):
    from app.tenancy.schema import head_revision

    result = run_probe(databases["tenant_a"])
    assert result.ok and result.code == "ok"
    assert result.server_version.startswith("PostgreSQL ") and result.latency_ms > 0
    assert result.schema_revision == head_revision()


def test_wrong_password_is_auth_failed(org_role):
    result = run_probe(url_on(org_role, password="Wrong-Canary-99"))
    assert result.code == "auth_failed" and "password" in result.hint
    assert_safe(result, "Wrong-Canary-99")


def test_right_password_with_special_characters_connects(org_role):
    result = run_probe(url_on(org_role))
    assert result.code == "schema_missing"  # connected and authenticated: the database is just empty
    assert_safe(result, ORG_PASSWORD)


def test_missing_database(org_role):
    assert run_probe(url_on(org_role, database="no_such_db")).code == "database_missing"


def test_refused_port():
    result = run_probe(f"postgresql://u:p@127.0.0.1:{free_port()}/db")
    assert result.code == "refused" and "port" in result.hint


def test_silent_socket_times_out_within_the_connect_timeout():
    silent = SilentServer()
    try:
        result = run_probe(f"postgresql://u:p@127.0.0.1:{silent.port}/db", timeout=2)
    finally:
        silent.close()
    assert result.code == "timeout" and result.latency_ms < 2000 + 1000


def test_database_without_schema(new_database):
    assert run_probe(new_database("bare", migrated=False)).code == "schema_missing"


def test_schema_behind_and_ahead(new_database):
    behind = new_database("behind")
    sql(behind, "UPDATE alembic_version SET version_num = 'c4e4aa56de15'")
    result = run_probe(behind)
    assert result.code == "schema_behind" and "db upgrade" in result.hint
    sql(behind, "UPDATE alembic_version SET version_num = '0123456789ab'")
    assert run_probe(behind).code == "schema_ahead"


def test_schema_drift_at_head_names_what_is_missing_or_changed(new_database):
    drifted = new_database("drift")
    assert run_probe(drifted).code == "ok"
    sql(drifted, 'DROP INDEX "ix_Donation_org_donor_date"')
    sql(drifted, 'ALTER TABLE "Donor" DISABLE TRIGGER "Donor_guard_insert"')
    result = run_probe(drifted)
    assert result.code == "schema_drift" and result.schema_revision
    assert "missing index ix_Donation_org_donor_date" in result.message
    assert "changed trigger Donor.Donor_guard_insert" in result.message
    assert "migrations" in result.hint


def test_expected_fingerprint_is_what_head_creates(new_database):
    """app/tenancy/expected_schema.json is current: regenerate it when a migration changes tenant tables."""
    from app.tenancy import fingerprint

    with psycopg.connect(new_database("fingerprint")) as conn:
        assert fingerprint.read(conn) == fingerprint.expected(), (
            "run: .venv/bin/python -m app.tenancy.fingerprint <url of a freshly migrated database> "
            "> app/tenancy/expected_schema.json"
        )


def test_permission_denied(pg_server, new_database):
    target = new_database("locked")
    name = make_url(target).database
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS tdc_locked_out")
        conn.execute("CREATE ROLE tdc_locked_out LOGIN")
        conn.execute(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC')
    try:
        result = run_probe(with_login(database_url(pg_server, name), user="tdc_locked_out"))
        assert result.code == "permission_denied"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO PUBLIC')
            conn.execute("DROP ROLE tdc_locked_out")


def test_ssl_required_by_a_server_without_tls(org_role):
    assert run_probe(url_on(org_role, query="?sslmode=require")).code == "ssl_failed"


def test_invalid_url():
    from app.tenancy.urls import InvalidDatabaseUrl

    with pytest.raises(InvalidDatabaseUrl):
        run_probe("mysql://x")


@pytest.mark.parametrize(
    "text, policy, reason",
    [
        ("postgresql://u:p@169.254.169.254:5432/db", {}, "link-local"),
        ("postgresql://u:p@[fe80::1]:5432/db", {}, "link-local"),
        ("postgresql://u:p@127.0.0.1:5432/console_main", {}, "main database"),
        ("postgresql://other:p@localhost:5432/console_main", {}, "main database"),
        ("postgresql://u:p@127.0.0.1:5432/db", {"allowed_hosts": "db.internal,*.rds.example"}, "ALLOWED_HOSTS"),
        ("postgresql://u:p@127.0.0.2:5432/db", {"denied_networks": "127.0.0.2/32"}, "DENIED_NETWORKS"),
    ],
)
def test_forbidden_targets_are_refused_before_connecting(text, policy, reason):
    result = run_probe(text, **policy)
    assert result.code == "forbidden_target" and reason in result.message and result.latency_ms is None


def test_classify_reads_sqlstate_first():
    class Fake(Exception):
        sqlstate = "3D000"

    assert classify(Fake("connection refused")) == "database_missing"
    assert classify(Exception('role "x" does not exist')) == "auth_failed"
    assert classify(Exception("something new")) == "unknown"
