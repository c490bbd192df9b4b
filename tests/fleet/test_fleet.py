"""Fleet health (/fleet, tenants status --json) and schema drift, on real databases."""

import json
import re

import psycopg
from sqlalchemy.engine import make_url

from tests.helpers import add_admin, add_donors, add_org, csrf_token, login, sql
from tests.netfaults import SilentServer


def fleet_row(page, target_fragment):
    rows = re.findall(r'<tr data-target="([^"]*)">(.*?)</tr>', page, re.S)
    return next(body for target, body in rows if target_fragment in target)


def test_fleet_shows_connections_against_the_limit_and_the_organizations_served(make_app, databases):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_CONNECT_TIMEOUT=2)
    tenant_db = make_url(databases["tenant_a"]).database
    add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
    add_org(app, "org-s", "Shared Society")
    add_donors(databases["tenant_a"], "org-a", ["A", "B", "C"])
    add_donors(databases["main"], "org-s", ["S", "T"])
    add_admin(app, "owner@example.org")
    client = app.test_client()
    login(client, "owner@example.org")
    sql(databases["main"], f'ALTER DATABASE "{tenant_db}" CONNECTION LIMIT 7')
    held = [psycopg.connect(databases["tenant_a"]) for _ in range(3)]
    try:
        page = client.get("/fleet").get_data(as_text=True)
    finally:
        for conn in held:
            conn.close()
        sql(databases["main"], f'ALTER DATABASE "{tenant_db}" CONNECTION LIMIT -1')
    row = fleet_row(page, tenant_db)
    used = int(re.search(r'data-testid="connections">(\d+) / 7<', row).group(1))
    assert used >= 4  # the three held and the page's own test
    assert "Alpha Aid</a> (3)" in row and "Shared Society" not in row
    main_row = fleet_row(page, "main database")
    assert "Shared Society</a> (2)" in main_row and " MB" in main_row
    second = client.get("/fleet").get_data(as_text=True)  # rates from the second look on
    assert re.search(r'data-testid="commits">\d+\.\d<', fleet_row(second, tenant_db))
    assert 'data-testid="busiest"' in second and tenant_db in re.search(
        r'data-testid="fullest">.*?</ol>', second, re.S
    ).group(0)


def test_a_scoped_owner_sees_only_its_organizations_databases(make_app, databases):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
    add_org(app, "org-b", "Beta Benevolent", database_url=databases["tenant_b"])
    add_admin(app, "scoped@example.org", "owner", orgs=("org-a",))
    add_admin(app, "viewer@example.org", "viewer")
    client = app.test_client()
    login(client, "scoped@example.org")
    page = client.get("/fleet").get_data(as_text=True)
    assert "Alpha Aid" in page and make_url(databases["tenant_a"]).database in page
    assert "Beta Benevolent" not in page and make_url(databases["tenant_b"]).database not in page
    viewer = app.test_client()
    login(viewer, "viewer@example.org")
    assert viewer.get("/fleet").status_code == 403


def test_a_hanging_database_is_flagged_and_the_others_still_shown(make_app, databases):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_CONNECT_TIMEOUT=1)
    silent = SilentServer()
    try:
        add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
        add_org(app, "org-h", "Hanging Hope", database_url=f"postgresql://u:p@127.0.0.1:{silent.port}/h")
        add_admin(app, "owner@example.org")
        client = app.test_client()
        login(client, "owner@example.org")
        page = client.get("/fleet").get_data(as_text=True)
    finally:
        silent.close()
    assert 'data-testid="code">timeout<' in fleet_row(page, f":{silent.port}/h")
    assert "Alpha Aid</a> (0)" in fleet_row(page, make_url(databases["tenant_a"]).database)


def test_status_json_reports_each_database_health_and_schema_drift(make_app, databases, new_database):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_CONNECT_TIMEOUT=2)
    drifted = new_database("drifted")
    add_org(app, "org-a", database_url=databases["tenant_a"])
    add_org(app, "org-d", database_url=drifted)
    add_org(app, "org-s")
    add_donors(databases["tenant_a"], "org-a", ["A", "B", "C", "D"])
    sql(drifted, 'DROP INDEX "ix_Donor_org_email_prefix"')
    result = app.test_cli_runner().invoke(args=["tenants", "status", "--json"])
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert rows["org-a"]["code"] == "ok" and rows["org-a"]["donors"] == 4
    health = rows["org-a"]["database"]
    assert health["size_bytes"] > 0 and health["connections"] >= 1 and health["connection_limit"] > 0
    assert {"commits_per_s", "rollbacks_per_s", "deadlocks", "temp_bytes", "cache_hit_ratio"} <= health.keys()
    assert rows["org-s"]["database"]["size_bytes"] > 0 and rows["org-s"]["donors"] == 0
    assert rows["org-d"]["code"] == "schema_drift" and "ix_Donor_org_email_prefix" in rows["org-d"]["message"]
    assert result.exit_code == 1  # a drifted dedicated database is not healthy

    add_admin(app, "owner@example.org")
    client = app.test_client()
    login(client, "owner@example.org")
    page = client.get("/organizations/org-d").get_data(as_text=True)
    tested = client.post("/organizations/org-d/database/test", data={"csrf_token": csrf_token(page)})
    assert "schema_drift" in tested.get_data(as_text=True) and tested.status_code == 422
