"""NOTIFY tenant_routing: every change of an organization's route, from anywhere, reaches the
listeners (platform processes, other console processes) in the transaction that makes it."""

import re

import psycopg
import pytest

from tests.helpers import add_admin, add_org, csrf_token, login, sql, with_port
from tests.netfaults import Proxy
from tests.pgserver import wait_for


@pytest.fixture
def listener(databases):
    conn = psycopg.connect(databases["main"], autocommit=True)
    conn.execute("LISTEN tenant_routing")

    def received() -> list[str]:
        return [notice.payload for notice in conn.notifies(timeout=0.5, stop_after=10)]

    yield received
    conn.close()


def test_every_route_change_notifies_and_nothing_else_does(make_app, databases, new_database, listener):
    app = make_app(TENANT_TEST_RATE_LIMIT="100/minute")
    add_org(app, "org-a", "Alpha")
    add_admin(app, "owner@example.org", "owner")
    assert listener() == []
    client = app.test_client()
    login(client, "owner@example.org")
    token = csrf_token(client.get("/organizations/org-a").get_data(as_text=True))

    client.post("/organizations/org-a/database", data={"csrf_token": token, "database_url": databases["tenant_a"]})
    assert listener() == ["org-a"]  # a page save
    client.post("/organizations/org-a/database/clear", data={"csrf_token": token, "confirm": "y"})
    assert listener() == ["org-a"]  # a clear

    token_line = app.test_cli_runner().invoke(args=["create-token", "owner@example.org"]).output.strip().splitlines()
    api = {"Authorization": f"Bearer {token_line[-1]}"}
    put = client.put("/api/organizations/org-a/database", json={"databaseUrl": databases["tenant_b"]}, headers=api)
    assert put.status_code == 200 and listener() == ["org-a"]  # an API PUT

    sql(databases["main"], """UPDATE "Organization" SET "databaseUrl" = NULL WHERE id = 'org-a'""")
    assert listener() == ["org-a"]  # the guide's Option B, by hand
    sql(databases["main"], """UPDATE "Organization" SET name = 'Alpha Aid', "databaseUrl" = NULL WHERE id = 'org-a'""")
    assert listener() == []  # the route did not change

    target = new_database("notified")
    moved = app.test_cli_runner().invoke(args=["tenants", "move", "org-a", "--to", target])
    assert moved.exit_code == 0, moved.output
    assert listener() == ["org-a"]  # a move's switch


def test_a_save_in_one_process_is_served_by_another_on_its_next_request(make_app, databases):
    """Two console processes (two apps, each with its own engines and failure memory)."""
    first, second = (
        make_app(ENABLE_MULTI_DATABASE=True, TENANT_RETRY_AFTER=300, TENANT_CONNECT_TIMEOUT=2) for _ in range(2)
    )
    pg_port = int(re.search(r":(\d+)/", databases["tenant_a"]).group(1))
    proxy = Proxy(pg_port)  # stopped: the database behind it is down
    url = with_port(databases["tenant_a"], proxy.port)
    add_org(first, "org-a", "Alpha", database_url=url)
    add_admin(first, "owner@example.org", "owner")
    clients = []
    for app in (first, second):
        clients.append(app.test_client())
        login(clients[-1], "owner@example.org")
    one, two = clients
    two.get("/organizations/org-a/donors")

    def last_read() -> str:
        """fallback, dedicated or shared: the read's outcome, and where its detail says it was served from."""
        query = """SELECT outcome, detail FROM "AuditEvent" WHERE action = 'tenant.read' ORDER BY id DESC LIMIT 1"""
        outcome, detail = sql(databases["main"], query)[0]
        return outcome if outcome != "ok" else ("shared" if detail.startswith("shared:") else "dedicated")

    assert last_read() == "fallback"  # remembered as failing for TENANT_RETRY_AFTER (300 s)
    with second.app_context():
        listening = second.extensions["tenancy"]._listener.listening
    assert listening.wait(5)
    proxy.start()
    try:
        # In the first process: back to shared, then the same database again, now reachable.
        token = csrf_token(one.get("/organizations/org-a").get_data(as_text=True))
        one.post("/organizations/org-a/database/clear", data={"csrf_token": token, "confirm": "y"})
        saved = one.post("/organizations/org-a/database", data={"csrf_token": token, "database_url": url})
        assert saved.status_code == 302
        assert wait_for(lambda: not second.extensions["tenancy"].registry.entries(), timeout=5)
        two.get("/organizations/org-a/donors")
        assert last_read() == "dedicated"  # not the remembered failure: the notification cleared it
    finally:
        proxy.stop()
