"""tenants provision / deprovision on real PostgreSQL: a role and a database made for one
organization, its rows moved there online while the platform writes, and undone again."""

import json
import re

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from app.operations.provision import default_names
from app.tenancy.urls import resolve
from tests.helpers import SECRETS, add_admin, add_org, csrf_token, login, sql
from tests.operations.conftest import states, stored_url
from tests.operations.writer import Writer, lost_writes, totals_that_differ

PROVISIONER_PASSWORD = "Canary-Provisioner-51"


@pytest.fixture
def provisioner(pg_server):
    """A maintenance role with CREATEDB and CREATEROLE, and no superuser."""
    url = make_url(pg_server)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS tdc_provisioner")
        conn.execute(f"CREATE ROLE tdc_provisioner LOGIN CREATEDB CREATEROLE PASSWORD '{PROVISIONER_PASSWORD}'")
    yield url.set(username="tdc_provisioner", password=PROVISIONER_PASSWORD, database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'tenant_org_p%'").fetchall():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        for (name,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'tenant_org_p%'").fetchall():
            conn.execute(f'DROP ROLE "{name}"')
        conn.execute("DROP OWNED BY tdc_provisioner")
        conn.execute("DROP ROLE tdc_provisioner")


def role_and_database(pg_server, name):
    role = sql(
        pg_server,
        """SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit, rolcanlogin
           FROM pg_roles WHERE rolname = %s""",
        (name,),
    )
    database = sql(
        pg_server,
        "SELECT pg_get_userbyid(datdba), datacl::text FROM pg_database WHERE datname = %s",
        (name,),
    )
    return role, database


def test_provision_moves_the_rows_under_a_writer_and_deprovision_drop_undoes_it(
    make_app, databases, pg_server, provisioner
):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_PROVISION_SERVER_URL=provisioner)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--donors", "300", "--org", "org-p"]).exit_code == 0
    name = default_names("org-p")
    dry = runner.invoke(args=["tenants", "provision", "org-p", "--dry-run"])
    assert dry.exit_code == 0 and f"create role {name}" in dry.output and "create database" in dry.output
    assert role_and_database(pg_server, name) == ([], [])

    writer = Writer(databases["main"], "org-p")
    writer.start()
    try:
        result = runner.invoke(args=["tenants", "provision", "org-p", "--connection-limit", "7", "--json"])
    finally:
        writer.finish()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["role"] == name and summary["database"] == name and summary["createDatabaseMs"] > 0
    role, database = role_and_database(pg_server, name)
    assert role == [(False, False, False, False, False, 7, True)]
    owner, acl = database[0]
    assert owner == name and "=c/" not in acl and "=Tc/" not in acl  # no CONNECT for PUBLIC
    tenant_url = resolve(stored_url(databases, "org-p"), {})
    password = make_url(tenant_url).password
    SECRETS.add(password)  # checked against every response, log line and audit row at the end of the run
    assert len(password) >= 32 and password not in result.output
    assert make_url(tenant_url).database == name and make_url(tenant_url).username == name
    assert not lost_writes(tenant_url, writer) and not totals_that_differ(tenant_url, "org-p")
    assert writer.n > 0 and not writer.errors
    with psycopg.connect(tenant_url) as conn:  # the organization's own role reads its rows
        assert conn.execute('SELECT count(*) FROM "Donor"').fetchone()[0] >= 300

    again = runner.invoke(args=["tenants", "provision", "org-p"])
    assert again.exit_code == 0 and "nothing to do" in again.output

    moved = states(tenant_url, "org-p")
    undone = runner.invoke(args=["tenants", "deprovision", "org-p", "--drop"])
    assert undone.exit_code == 0, undone.output
    assert f"database {name} dropped" in undone.output and f"role {name} dropped" in undone.output
    assert role_and_database(pg_server, name) == ([], [])
    assert stored_url(databases, "org-p") is None
    assert states(databases["main"], "org-p") == moved


def test_a_second_run_after_a_failure_continues(make_app, databases, pg_server, provisioner):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--donors", "50", "--org", "org-p2"]).exit_code == 0
    name = default_names("org-p2")
    # A run that died after making the role and the database, before the migrations.
    with psycopg.connect(provisioner, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
        conn.execute(f'GRANT "{name}" TO CURRENT_USER')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    result = runner.invoke(args=["tenants", "provision", "org-p2", "--server", provisioner])
    assert result.exit_code == 0, result.output
    assert f"role {name}: new password" in result.output and "migrated to head" in result.output
    assert states(resolve(stored_url(databases, "org-p2"), {}), "org-p2") == states(databases["main"], "org-p2")
    assert PROVISIONER_PASSWORD not in result.output


def test_refusals_change_nothing(make_app, databases, pg_server, provisioner):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--donors", "5", "--org", "org-p3"]).exit_code == 0
    no_server = runner.invoke(args=["tenants", "provision", "org-p3"])
    assert no_server.exit_code == 1 and "TENANT_PROVISION_SERVER_URL" in no_server.output
    bad_name = runner.invoke(args=["tenants", "provision", "org-p3", "--server", provisioner, "--database", "x;drop"])
    assert bad_name.exit_code == 1 and "--database" in bad_name.output
    weak = make_url(pg_server).set(username="tdc_weak", password="Canary-weak-1", database="postgres")
    sql(pg_server, "DROP ROLE IF EXISTS tdc_weak")
    sql(pg_server, "CREATE ROLE tdc_weak LOGIN")
    try:
        refused = runner.invoke(
            args=["tenants", "provision", "org-p3", "--server", weak.render_as_string(hide_password=False)]
        )
    finally:
        sql(pg_server, "DROP ROLE tdc_weak")
    assert refused.exit_code == 1 and "CREATEDB and CREATEROLE" in refused.output
    assert role_and_database(pg_server, default_names("org-p3")) == ([], [])
    assert stored_url(databases, "org-p3") is None


def test_the_generated_password_really_authenticates(make_app, databases, password_cluster):
    """On a server with password (SCRAM) authentication: the role's verifier, computed by the console, works."""
    app = make_app(ENABLE_MULTI_DATABASE=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--donors", "20", "--org", "org-p4"]).exit_code == 0
    result = runner.invoke(args=["tenants", "provision", "org-p4", "--server", password_cluster.url])
    assert result.exit_code == 0, result.output
    tenant_url = resolve(stored_url(databases, "org-p4"), {})
    SECRETS.add(make_url(tenant_url).password)
    with psycopg.connect(tenant_url) as conn:
        assert conn.execute('SELECT count(*) FROM "Donor"').fetchone()[0] == 20
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(make_url(tenant_url).set(password="wrong").render_as_string(hide_password=False)).close()
    undone = runner.invoke(args=["tenants", "deprovision", "org-p4", "--drop", "--server", password_cluster.url])
    assert undone.exit_code == 0, undone.output


def test_an_owner_provisions_from_the_organization_page(make_app, databases, provisioner):
    store = redis.Redis.from_url("redis://127.0.0.1:6379/12")
    store.flushdb()
    app = make_app(
        ENABLE_MULTI_DATABASE=True, TENANT_PROVISION_SERVER_URL=provisioner, REDIS_URL="redis://127.0.0.1:6379/12"
    )
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--donors", "40", "--org", "org-p5"]).exit_code == 0
    add_admin(app, "owner@example.org")
    add_admin(app, "viewer@example.org", "viewer")
    viewer = app.test_client()
    login(viewer, "viewer@example.org")
    assert 'data-testid="provision-form"' not in viewer.get("/organizations/org-p5").get_data(as_text=True)
    client = app.test_client()
    login(client, "owner@example.org")
    page = client.get("/organizations/org-p5").get_data(as_text=True)
    assert 'data-testid="provision-button"' in page
    queued = client.post(
        "/organizations/org-p5/provision", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    )
    assert re.search(r"The provisioning of [^<]+ is queued \(job", queued.get_data(as_text=True))
    worked = runner.invoke(args=["worker", "--burst"])
    assert worked.exit_code == 0, worked.output
    page = client.get("/organizations/org-p5").get_data(as_text=True)
    assert re.search(r'data-testid="move-state">done<', page) and "provisioned" in page
    assert 'data-testid="provision-form"' not in page  # dedicated now
    tenant_url = resolve(stored_url(databases, "org-p5"), {})
    SECRETS.add(make_url(tenant_url).password)
    assert make_url(tenant_url).database == default_names("org-p5")
    assert states(tenant_url, "org-p5") == states(databases["main"], "org-p5")
    store.flushdb()


def test_deprovision_drop_refuses_a_database_another_organization_uses(make_app, databases, pg_server, provisioner):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_PROVISION_SERVER_URL=provisioner)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--donors", "10", "--org", "org-p6"]).exit_code == 0
    assert runner.invoke(args=["tenants", "provision", "org-p6"]).exit_code == 0
    tenant_url = resolve(stored_url(databases, "org-p6"), {})
    SECRETS.add(make_url(tenant_url).password)
    add_org(app, "org-squatter", database_url=tenant_url)  # saved onto the same database by hand
    refused = runner.invoke(args=["tenants", "deprovision", "org-p6", "--drop"])
    assert refused.exit_code == 1 and "is used by org-squatter; nothing was dropped" in refused.output
    name = default_names("org-p6")
    assert role_and_database(pg_server, name)[1]  # the database is still there
    assert stored_url(databases, "org-p6") is None  # the move back itself was done and verified


def test_deprovision_drop_drops_only_what_provision_made(make_app, databases, pg_server):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    runner = app.test_cli_runner()
    add_org(app, "org-p7", "Seven")
    superuser = make_url(pg_server).set(database="postgres").render_as_string(hide_password=False)
    for name, reason in (
        (make_url(databases["main"]).database, "is the console's main database"),
        (make_url(databases["tenant_b"]).database, "that database was not made by tenants provision for org-p7"),
    ):
        refused = runner.invoke(
            args=["tenants", "deprovision", "org-p7", "--drop", "--server", superuser, "--database", name]
        )
        assert refused.exit_code == 1 and reason in refused.output and "nothing was dropped" in refused.output
        assert sql(pg_server, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)) == [(1,)]
