"""Every request reaches the right database, and sees only its organization's rows."""

import re
import time

import pytest
from sqlalchemy import func, select

from app.models import Donor, Organization
from app.tenancy.scoping import scoped_select
from app.tenancy.service import tenancy
from tests.helpers import sql, with_port
from tests.netfaults import Proxy, SilentServer
from tests.pgserver import free_port, wait_for

DONOR_IDS = re.compile(r'data-donor-id="([^"]+)"')


CAMPAIGN_IDS = re.compile(r'data-campaign-id="([^"]+)"')


def tenant_routes(app) -> list[str]:
    """Every page that reads tenant data: the donors blueprint's routes."""
    return sorted(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("donors."))


def donor_ids_on(client, org_id: str, route: str = "/organizations/<org_id>/donors") -> set[str]:
    response = client.get(route.replace("<org_id>", org_id))
    assert response.status_code == 200
    return set(DONOR_IDS.findall(response.get_data(as_text=True)))


def visible_on(client, route: str, org_id: str, rows: dict) -> set[str]:
    """What one organization sees on a route: donor ids, or campaign ids on the campaigns page."""
    path = route.replace("<org_id>", org_id)
    if "<donor_id>" in route:  # every donor anywhere, tried through this organization
        all_ids = {d for ids in rows.values() for d in ids}
        return {d for d in all_ids if client.get(path.replace("<donor_id>", d)).status_code == 200}
    response = client.get(path)
    assert response.status_code == 200, route
    text = response.get_data(as_text=True)
    if route.endswith(".csv"):
        return {line.split(",", 1)[0] for line in text.splitlines()[1:]}
    if route.endswith("/campaigns"):
        return set(CAMPAIGN_IDS.findall(text))
    return set(DONOR_IDS.findall(text))


def test_tenant_routes_are_all_covered(make_app):
    assert tenant_routes(make_app()) == [
        "/organizations/<org_id>/campaigns",
        "/organizations/<org_id>/donors",
        "/organizations/<org_id>/donors.csv",
        "/organizations/<org_id>/donors/<donor_id>",
    ]


@pytest.mark.parametrize("org, expected", [("org-a", "a"), ("org-b", "b"), ("org-c", "c")])
def test_each_organization_sees_only_its_own_rows_on_every_route(world, org, expected):
    app, client, rows = world()
    for route in tenant_routes(app):
        wanted = {f"camp-{expected}"} if route.endswith("/campaigns") else set(rows[expected])
        assert visible_on(client, route, org, rows) == wanted, route


def test_pages_say_which_database_served_them(world, databases):
    app, client, _ = world()

    def badge(path):
        page = client.get(path).get_data(as_text=True)
        return re.search(
            r'class="badge [^"]*(text-bg-\w+)" data-testid="served-by">(.*?)\n</span>', page, re.S
        ).groups()

    colour, text = badge("/organizations/org-a/donors")
    assert colour == "text-bg-primary" and databases["tenant_a"].rsplit("/", 1)[1] in text
    colour, text = badge("/organizations/org-b/donors")
    assert colour == "text-bg-secondary" and "served by the shared database" in text


def test_the_session_scopes_every_query_itself(world):
    app, _, rows = world()
    with app.test_request_context():
        from app.extensions import db

        for org_id, expected in (("org-a", "a"), ("org-b", "b"), ("org-c", "c")):
            org = db.session.get(Organization, org_id)
            session, route = tenancy().open_session(org)
            with session:
                assert set(session.scalars(scoped_select(session, Donor).with_only_columns(Donor.id))) == set(
                    rows[expected]
                )
                # Even an unscoped statement is filtered by the session (defense in depth).
                assert set(session.scalars(select(Donor.id))) == set(rows[expected])
                assert session.scalar(select(func.count()).select_from(Donor)) == len(rows[expected])
                assert session.get(Donor, rows["b_decoy"][0]) is None


def test_tenant_sessions_are_read_only_at_the_database(world):
    app, _, rows = world()
    with app.test_request_context():
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        from app.extensions import db

        for org_id in ("org-a", "org-b"):
            session, _ = tenancy().open_session(db.session.get(Organization, org_id))
            with session, pytest.raises(DBAPIError, match="read-only transaction"):
                session.execute(text("""UPDATE "Donor" SET "lastName" = 'X'"""))


def test_multi_database_off_ignores_dedicated_urls(world):
    app, client, rows = world(ENABLE_MULTI_DATABASE=False)
    assert donor_ids_on(client, "org-a") == set(rows["a_leftover"])
    assert "shared database" in client.get("/organizations/org-a/donors").get_data(as_text=True)
    assert "dedicated (inactive)" in client.get("/organizations").get_data(as_text=True)


def test_unknown_organization_is_404(world):
    _, client, _ = world()
    response = client.get("/organizations/no-such-org/donors")
    assert response.status_code == 404 and "Organization not found" in response.get_data(as_text=True)


def test_out_of_scope_organization_is_404(world):
    from tests.helpers import add_admin, login

    app, _, rows = world()
    add_admin(app, "scoped@example.org", "viewer", orgs=("org-b",))
    client = app.test_client()
    login(client, "scoped@example.org")
    assert client.get("/organizations/org-a/donors").status_code == 404
    assert donor_ids_on(client, "org-b") == set(rows["b"])
    assert "Alpha Aid" not in client.get("/organizations").get_data(as_text=True)


def set_url(databases, org_id: str, url: str | None) -> None:
    """Option B of the guide, as an operator would run it."""
    sql(databases["main"], 'UPDATE "Organization" SET "databaseUrl" = %s WHERE id = %s', (url, org_id))


def timed_get(client, path):
    start = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - start


@pytest.mark.parametrize("fault", ["refused", "silent"])
def test_unreachable_database_falls_back_visibly_then_recovers(world, databases, fault):
    app, client, rows = world(TENANT_CONNECT_TIMEOUT=2, TENANT_RETRY_AFTER=1.5)
    pg_port = int(re.search(r":(\d+)/", databases["tenant_a"]).group(1))
    silent = SilentServer() if fault == "silent" else None
    proxy = Proxy(pg_port, port=silent.port if silent else free_port())
    dead_url = with_port(databases["tenant_a"], proxy.port)
    set_url(databases, "org-a", dead_url)
    try:
        response, took = timed_get(client, "/organizations/org-a/donors")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'data-testid="fallback-banner"' in page
        assert took < 2 + 1, f"{took:.2f}s"
        # The guide's fallback: the main database's rows for org A, clearly labelled.
        assert set(DONOR_IDS.findall(page)) == set(rows["a_leftover"])
        # Remembered: the next request does not wait the connect timeout again.
        response, took = timed_get(client, "/organizations/org-a/donors")
        assert 'data-testid="fallback-banner"' in response.get_data(as_text=True) and took < 0.5
        # Others are unaffected.
        assert donor_ids_on(client, "org-c") == set(rows["c"])
        # The database comes back: used again after TENANT_RETRY_AFTER, without a restart.
        if silent:
            silent.close()
        proxy.start()
        assert wait_for(lambda: donor_ids_on(client, "org-a") == set(rows["a"]), timeout=10, step=0.3)
    finally:
        proxy.stop()
    with app.app_context():
        from app.extensions import db
        from app.models import AuditEvent

        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.unavailable")).all()
        assert len(events) == 1 and events[0].organization_id == "org-a"


def test_fallback_error_mode_answers_503(world, databases):
    app, client, _ = world(TENANT_FALLBACK="error", TENANT_CONNECT_TIMEOUT=2)
    set_url(databases, "org-a", f"postgresql://u:Canary7x@127.0.0.1:{free_port()}/db")
    response, took = timed_get(client, "/organizations/org-a/donors")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "could not be reached" in page and took < 3
    assert "Canary7x" not in page


def test_schema_mismatch_is_refused_and_explained(world, databases, new_database):
    app, client, _ = world()
    empty = new_database("noschema", migrated=False)
    set_url(databases, "org-a", empty)
    page = client.get("/organizations/org-a/donors").get_data(as_text=True)
    assert "Schema mismatch" in page and "no schema" in page and "flask --app wsgi db upgrade" in page
    behind = new_database("behind")
    sql(behind, "UPDATE alembic_version SET version_num = 'c4e4aa56de15'")
    set_url(databases, "org-a", behind)
    page = client.get("/organizations/org-a/donors").get_data(as_text=True)
    assert "Schema mismatch" in page and "behind head" in page
    ahead = new_database("ahead")
    sql(ahead, "UPDATE alembic_version SET version_num = 'ffffffffffff'")
    set_url(databases, "org-a", ahead)
    assert "Deploy the newer console" in client.get("/organizations/org-a/donors").get_data(as_text=True)


def connections_to(databases, name: str) -> int:
    db_name = databases[name].rsplit("/", 1)[1]
    return sql(databases["main"], "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (db_name,))[0][0]


def test_changed_or_cleared_url_disposes_the_old_engine(world, databases):
    app, client, rows = world()
    sql(databases["main"], """UPDATE "Organization" SET "databaseUrl" = NULL WHERE id = 'org-c'""")
    add = __import__("tests.helpers", fromlist=["add_donors"]).add_donors
    b_ids = add(databases["tenant_b"], "org-a", ["Bell"], prefix="org-a-b")
    assert donor_ids_on(client, "org-a") == set(rows["a"])
    assert connections_to(databases, "tenant_a") >= 1
    set_url(databases, "org-a", databases["tenant_b"])
    assert donor_ids_on(client, "org-a") == set(b_ids)
    assert wait_for(lambda: connections_to(databases, "tenant_a") == 0, timeout=5)
    set_url(databases, "org-a", None)
    assert donor_ids_on(client, "org-a") == set(rows["a_leftover"])
    assert wait_for(lambda: connections_to(databases, "tenant_b") == 0, timeout=5)


def test_registry_is_bounded_and_disposes_what_it_evicts(make_app, new_database):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_ENGINE_CACHE_SIZE=2)
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    registry = app.extensions["tenancy"].registry
    urls = [new_database(f"lru{i}") for i in range(3)]
    for url in urls:
        entry = registry.get(make_url(url.replace("postgresql://", "postgresql+psycopg://")))
        with entry.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert len(registry.entries()) == 2 and registry.counters.evictions == 1
    first_db = urls[0].rsplit("/", 1)[1]
    assert wait_for(
        lambda: sql(urls[1], "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (first_db,))[0][0] == 0,
        timeout=5,
    )
    assert registry.connection_bound == 2 * (2 + 2)


def test_system_page_shows_engines_settings_and_counters(world):
    app, client, _ = world()
    client.get("/organizations/org-a/donors")
    client.get("/organizations/org-a/donors")
    page = client.get("/system").get_data(as_text=True)
    assert "TENANT_ENGINE_CACHE_SIZE" in page and "TENANT_FALLBACK" in page
    assert re.search(r"<dt[^>]*>hits</dt><dd[^>]*>1</dd>", page)
    assert re.search(r"<dt[^>]*>misses</dt><dd[^>]*>1</dd>", page)
    assert "postgres@127.0.0.1:5432/" in page
    main = re.search(r'data-testid="main-database">.*?</dl>', page, re.S).group(0)
    assert "postgres@127.0.0.1:5432/tdc_main_" in main and ">at head<" in main and "version 20" in main
    settings = re.search(r'data-testid="settings">.*?</table>', page, re.S).group(0)
    assert "<code>on</code>" in settings and "<code>none</code>" in settings  # ENABLE_MULTI_DATABASE, allowed hosts
    assert not re.search(r"<code>(True|False|\[\])</code>", settings)
