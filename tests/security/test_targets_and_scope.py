"""Security round two: address tricks, the main database by identity, the stored password
kept for its own target, scoped owners kept in scope, honest exports, no 500 from bad input."""

import re

import pytest
from sqlalchemy.engine import make_url

from app.tenancy.probe import probe
from app.tenancy.targets import TargetPolicy, canonical, forbidden_reason, parse_networks
from app.tenancy.urls import parse_database_url
from tests.helpers import add_admin, add_donors, add_org, csrf_token, login, sql, with_login, with_port
from tests.netfaults import Proxy


def run_probe(text, main, **policy):
    return probe(
        parse_database_url(text, allow_sqlite=False),
        policy=TargetPolicy(main_url=make_url(main), **policy),
        connect_timeout=2,
    )


@pytest.mark.parametrize(
    "address, expected",
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:7f00:1", "127.0.0.1"),
        ("::ffff:169.254.169.254", "169.254.169.254"),
        ("::a9fe:a9fe", "169.254.169.254"),  # IPv4-compatible
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64
        ("0.0.0.0", "127.0.0.1"),
        ("::", "::1"),
        ("10.1.2.3", "10.1.2.3"),
    ],
)
def test_address_aliases_unwrap_to_the_address_they_reach(address, expected):
    assert str(canonical(address)) == expected


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "fe80::1", "fd00:ec2::254"],
)
def test_link_local_and_metadata_addresses_are_refused_in_every_form(address):
    # Classified without connecting: the suite never sends a packet to these addresses.
    assert forbidden_reason(address, []) == "a link-local or cloud-metadata address"


def test_denied_networks_catch_mapped_forms_on_loopback(pg_server, databases):
    name = make_url(databases["tenant_a"]).database
    for host in ("[::ffff:127.0.0.2]", "[::ffff:7f00:2]", "127.0.0.2"):
        result = run_probe(
            f"postgresql://postgres@{host}:5432/{name}", databases["main"], denied_networks="127.0.0.2/32"
        )
        assert result.code == "forbidden_target" and "DENIED_NETWORKS" in result.message, (host, result.message)
    assert forbidden_reason("::ffff:10.0.0.5", parse_networks("10.0.0.0/8")) == "in TENANT_DB_DENIED_NETWORKS"


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "127.0.0.3", "localhost"])
def test_the_main_database_is_refused_behind_any_local_address(databases, host):
    main = make_url(databases["main"])
    text = f"postgresql://{main.username}@{host}:{main.port or 5432}/{main.database}"
    result = run_probe(text, databases["main"])
    assert result.code == "forbidden_target" and "main database" in result.message, (host, result)


def test_the_main_database_is_refused_behind_a_port_forward_or_a_pooler(databases, pgbouncer):
    """No address check can see these: the server's identity does."""
    main = make_url(databases["main"])
    proxy = Proxy(main.port or 5432)
    proxy.start()
    try:
        for text in (with_port(databases["main"], proxy.port), pgbouncer.url(main.database)):
            result = run_probe(text, databases["main"])
            assert result.code == "forbidden_target" and "main database" in result.message, result
        other = run_probe(with_port(databases["tenant_a"], proxy.port), databases["main"])
        assert other.code == "ok"  # another database on the same server is fine
    finally:
        proxy.stop()


def test_a_forwarded_main_database_cannot_be_saved_or_served(make_app, databases):
    main = make_url(databases["main"])
    proxy = Proxy(main.port or 5432)
    proxy.start()
    try:
        app = make_app(ENABLE_MULTI_DATABASE=True)
        add_org(app, "org-a", "Alpha")
        add_admin(app, "owner@example.org", "owner")
        client = app.test_client()
        login(client, "owner@example.org")
        token = csrf_token(client.get("/organizations/org-a").get_data(as_text=True))
        alias = with_port(databases["main"], proxy.port)
        refused = client.post(
            "/organizations/org-a/database", data={"csrf_token": token, "database_url": alias, "force": "y"}
        )
        assert refused.status_code == 422 and "main database" in refused.get_data(as_text=True)
        assert sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""") == [(None,)]
        sql(databases["main"], """UPDATE "Organization" SET "databaseUrl" = %s WHERE id = 'org-a'""", (alias,))
        page = client.get("/organizations/org-a/donors").get_data(as_text=True)
        assert "main database" in page  # served by fallback, never through the alias as "dedicated"
        reads = sql(databases["main"], """SELECT outcome FROM "AuditEvent" WHERE action = 'tenant.read'""")
        assert reads == [("fallback",)]
    finally:
        proxy.stop()


@pytest.mark.parametrize(
    "change", [{"port": 1}, {"database": "elsewhere"}, {"user": "someone"}, {"query": "?sslmode=disable"}]
)
def test_a_blank_password_keeps_the_stored_one_only_for_the_very_same_target(make_app, databases, change):
    app = make_app(TENANT_TEST_RATE_LIMIT="100/minute")
    stored = with_login(databases["tenant_a"], password="Canary-stored-pw") + "?sslmode=prefer"
    add_org(app, "org-a", "Alpha", database_url=stored)
    add_admin(app, "owner@example.org", "owner")
    client = app.test_client()
    login(client, "owner@example.org")
    parts = make_url(databases["tenant_a"])
    port, database = change.get("port", parts.port or 5432), change.get("database", parts.database)
    user = change.get("user", parts.username)
    typed = f"postgresql://{user}@127.0.0.1:{port}/{database}{change.get('query', '?sslmode=prefer')}"
    token = csrf_token(client.get("/organizations/org-a").get_data(as_text=True))
    client.post("/organizations/org-a/database/test", data={"csrf_token": token, "database_url": typed})
    client.post("/organizations/org-a/database", data={"csrf_token": token, "database_url": typed, "force": "y"})
    now = sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""")[0][0]
    assert "Canary-stored-pw" not in now  # never handed to another target


def test_a_blank_password_still_keeps_the_stored_one_for_the_same_target(make_app, databases):
    app = make_app()
    add_org(app, "org-a", "Alpha", database_url=with_login(databases["tenant_a"], password="Canary-kept"))
    add_admin(app, "owner@example.org", "owner")
    client = app.test_client()
    login(client, "owner@example.org")
    token = csrf_token(client.get("/organizations/org-a").get_data(as_text=True))
    typed = with_login(databases["tenant_a"], password="").replace(":@", "@") + "?sslmode=require"  # stronger TLS
    client.post("/organizations/org-a/database", data={"csrf_token": token, "database_url": typed, "force": "y"})
    now = sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""")[0][0]
    assert "Canary-kept" in now and "sslmode=require" in now


def test_a_scoped_owner_sees_only_its_organizations_events_and_engines(make_app, databases):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    add_org(app, "org-a", "Alpha", database_url=databases["tenant_a"])
    add_org(app, "org-b", "Beta", database_url=databases["tenant_b"])
    add_donors(databases["tenant_a"], "org-a", ["Adams"])
    add_admin(app, "owner@example.org", "owner")
    add_admin(app, "scoped@example.org", "owner", orgs=("org-a",))
    owner, scoped = app.test_client(), app.test_client()
    login(owner, "owner@example.org")
    login(scoped, "scoped@example.org")
    owner.get("/organizations/org-b/donors?q=secret-search-of-b")
    scoped.get("/organizations/org-a/donors")
    for path in ("/audit", "/audit.csv", "/audit?organization=org-b", "/audit.csv?organization=org-b"):
        text = scoped.get(path).get_data(as_text=True)
        assert "secret-search-of-b" not in text and "tenant_b" not in text, path
        if path.startswith("/audit.csv"):
            assert not [line for line in text.splitlines() if ",org-b," in line], path
    assert "org-a" in scoped.get("/audit").get_data(as_text=True)
    system = scoped.get("/system").get_data(as_text=True)
    name_a, name_b = (make_url(databases[n]).database for n in ("tenant_a", "tenant_b"))
    assert name_a in system and name_b not in system and 'data-testid="counters"' not in system
    assert name_b in owner.get("/system").get_data(as_text=True)
    assert 'data-testid="counters"' in owner.get("/system").get_data(as_text=True)


def test_an_export_never_falls_back(world_like_app):
    client, databases = world_like_app
    response = client.get("/organizations/org-a/donors.csv")
    assert response.status_code == 503 and "could not be reached" in response.get_data(as_text=True)
    rows = sql(databases["main"], """SELECT count(*) FROM "AuditEvent" WHERE action = 'donors.export'""")
    assert rows == [(0,)]  # no export recorded as made


@pytest.fixture
def world_like_app(make_app, databases):
    from tests.pgserver import free_port

    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_CONNECT_TIMEOUT=2)
    add_org(app, "org-a", "Alpha", database_url=with_port(databases["tenant_a"], free_port()))
    add_donors(databases["main"], "org-a", ["Leftover"])  # what a fallback would have exported
    add_admin(app, "owner@example.org", "owner")
    client = app.test_client()
    login(client, "owner@example.org")
    return client, databases


@pytest.mark.parametrize(
    "path",
    [
        "/organizations/org-a/donors.csv?q=a%00b",
        "/organizations/org-a/donors.csv?campaign=%00",
        "/audit.csv?action=x%00",
        "/audit.csv?organization=%00",
        "/audit?until=9999-12-31",
        "/audit?endpoint=x",
        "/audit?_method=POST",
        "/audit?_external=1&_anchor=x&action=y",
        "/audit?before=99999999999999999999999",
    ],
)
def test_bad_query_strings_get_a_clear_answer_never_a_500(owner_client, app, path):
    add_org(app, "org-a", "Alpha")
    response = owner_client.get(path)
    assert response.status_code in (200, 400), (path, response.status_code)
    body = response.get_data(as_text=True)
    assert "Internal Server Error" not in body and "Traceback" not in body


def test_a_deeply_nested_json_body_is_a_400(app, databases):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha")
    token = app.test_cli_runner().invoke(args=["create-token", "owner@example.org"]).output.strip().splitlines()[-1]
    body = "[" * 100_000 + "]" * 100_000
    response = app.test_client().put(
        "/api/organizations/org-a/database",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_formula_cells_are_neutralised_in_the_audit_csv(app, owner_client, databases):
    add_org(app, "org-a", "Alpha")
    for detail in ('=HYPERLINK("http://x")', "  =1+2", "\t@SUM(A1)", "+cmd", "-2+3"):
        sql(
            databases["main"],
            """INSERT INTO "AuditEvent" (action, outcome, detail, "organizationId")
                                  VALUES ('database.test', 'ok', %s, 'org-a')""",
            (detail,),
        )
    text = owner_client.get("/audit.csv").get_data(as_text=True)
    cells = [line.split(",", 6)[6] for line in text.splitlines()[1:] if "database.test" in line]
    assert cells and all(re.match(r"^\"?'", cell) for cell in cells), cells
