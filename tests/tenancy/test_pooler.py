"""Tenant databases behind a transaction-mode pooler (Debian's PgBouncer 1.18): tested, saved,
served page after page by the dedicated database, with the statement timeout still enforced."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app.tenancy.engines import make_read_only_engine
from app.tenancy.urls import behind_pooler, for_driver, parse_database_url
from tests.helpers import add_admin, add_donors, add_org, csrf_token, login, sql
from tests.tenancy.test_routing import tenant_routes, visible_on


def test_pooled_url_forms():
    marked = parse_database_url("postgresql://u:p@db.example.org:5432/d?pgbouncer=true", allow_sqlite=False)
    assert behind_pooler(marked) and "pgbouncer" not in for_driver(marked).query
    supabase = parse_database_url(
        "postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:6543/postgres", allow_sqlite=False
    )
    assert behind_pooler(supabase)
    assert not behind_pooler(parse_database_url("postgresql://u:p@db.supabase.co:5432/postgres", allow_sqlite=False))
    assert not behind_pooler(parse_database_url("postgresql://u:p@h:6543/d?pgbouncer=false", allow_sqlite=False))


@pytest.mark.parametrize("org, expected", [("org-a", "a"), ("org-c", "c")])
def test_isolation_holds_through_the_pooler_on_every_route(world, org, expected):
    app, client, rows = world(pooled=True)
    for route in tenant_routes(app):
        wanted = {f"camp-{expected}"} if route.endswith("/campaigns") else set(rows[expected])
        assert visible_on(client, route, org, rows) == wanted, route


def test_pooled_database_tests_ok_saves_without_force_and_serves_thirty_pages(make_app, databases, pgbouncer):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    add_org(app, "org-p", "Pooled")
    add_admin(app, "owner@example.org", "owner")
    donors = add_donors(databases["tenant_b"], "org-p", ["Lovelace", "Hopper", "Turing"])
    client = app.test_client()
    login(client, "owner@example.org")
    url = pgbouncer.url(databases["tenant_b"].rsplit("/", 1)[1])

    token = csrf_token(client.get("/organizations/org-p").get_data(as_text=True))
    tested = client.post(
        "/organizations/org-p/database/test",
        data={"csrf_token": token, "database_url": url},
        headers={"Accept": "application/json"},
    ).get_json()
    assert tested["data"]["code"] == "ok" and tested["data"]["pooler"] is True, tested
    assert "connection pooler" in tested["data"]["message"]
    saved = client.post("/organizations/org-p/database", data={"csrf_token": token, "database_url": url})
    assert saved.status_code == 302  # no force needed

    pages = [
        "/donors",
        "/donors?q=hop",
        "/donors?q=lovelace@",
        "/donors?sort=created",
        "/donors?sort=total",
        f"/donors/{donors[0]}",
        "/donors.csv",
        "/campaigns",
    ]
    for n in range(30):
        response = client.get("/organizations/org-p" + pages[n % len(pages)])
        assert response.status_code == 200, (pages[n % len(pages)], response.status_code)
        response.close()
    reads = sql(
        databases["main"],
        """SELECT outcome, detail LIKE 'shared:%%', count(*) FROM "AuditEvent"
                                      WHERE action = 'tenant.read' AND "organizationId" = 'org-p' GROUP BY 1, 2""",
    )
    assert reads == [("ok", False, 30)]  # every page from the dedicated database, none by fallback
    assert "Hopper" in client.get("/organizations/org-p/donors?q=hop").get_data(as_text=True)


def test_statement_timeout_and_read_only_hold_through_the_pooler(databases, pgbouncer):
    url = parse_database_url(pgbouncer.url(databases["tenant_b"].rsplit("/", 1)[1]), allow_sqlite=False)
    engine = make_read_only_engine(url, pool_size=1, max_overflow=0, connect_timeout=5, statement_timeout=0.5)
    try:
        for _ in range(3):  # every transaction sets its own bounds: nothing lives on the pooled server connection
            with engine.connect() as conn:
                assert conn.execute(text("SHOW transaction_read_only")).scalar() == "on"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "500ms"
                with pytest.raises(OperationalError) as cancelled:
                    conn.execute(text("SELECT pg_sleep(3)"))
                assert cancelled.value.orig.sqlstate == "57014"  # query_canceled, by the statement timeout
        with engine.connect() as conn, pytest.raises(Exception) as refused:
            conn.execute(text("""INSERT INTO "Campaign" (id, "organizationId", name) VALUES ('x', 'org-x', 'x')"""))
        assert getattr(refused.value.orig, "sqlstate", None) == "25006"  # read_only_sql_transaction
    finally:
        engine.dispose()


def test_nothing_is_prepared_on_tenant_connections(make_app, databases):
    """A search run many times on one connection keeps its custom plan: psycopg never prepares it."""
    url = parse_database_url(databases["tenant_b"], allow_sqlite=False)
    engine = make_read_only_engine(url, pool_size=1, max_overflow=0, connect_timeout=5, statement_timeout=5)
    try:
        with engine.connect() as conn:
            for _ in range(25):
                conn.execute(text("""SELECT id FROM "Donor" WHERE lower(email) LIKE :p"""), {"p": "x%"}).all()
            assert conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
    finally:
        engine.dispose()


def test_pool_size_zero_keeps_no_connection(world):
    app, client, rows = world(pooled=True, TENANT_POOL_SIZE=0)
    assert set(rows["a"]) <= visible_on(client, "/organizations/<org_id>/donors", "org-a", rows)
    with app.app_context():
        from app.tenancy.service import tenancy

        (entry,) = tenancy().registry.entries()
        assert isinstance(entry.engine.pool, NullPool)
    assert client.get("/system").status_code == 200
