"""The organization pages: list, detail, test, save, clear, roles, audit."""

import re

from tests.helpers import (
    add_admin,
    add_donors,
    add_org,
    csrf_token,
    login,
    new_fernet_key,
    sql,
    with_login,
    without_password,
)
from tests.pgserver import free_port

CANARY = "Canary-Pw-7731"


def post_form(client, page_path, action, **data):
    token = csrf_token(client.get(page_path).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def stored_url(databases, org_id):
    return sql(databases["main"], 'SELECT "databaseUrl" FROM "Organization" WHERE id = %s', (org_id,))[0][0]


def with_password(url, password=CANARY):
    return with_login(url, password=password)


def test_list_shows_mode_target_storage_check_and_schema(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid", database_url=with_password(databases["tenant_a"]))
    add_org(app, "org-b", "Beta Benevolent")
    add_org(app, "org-e", "Env Org", database_url="env:NOT_SET_ANYWHERE")
    post_form(owner_client, "/organizations/org-a", "/organizations/org-a/database/test")
    page = owner_client.get("/organizations").get_data(as_text=True)
    row_a = re.search(r'<tr data-org-id="org-a">.*?</tr>', page, re.S).group(0)
    assert "dedicated (inactive)" in row_a and "postgres@127.0.0.1:5432/" in row_a and "plain" in row_a
    assert ">ok<" in row_a and "at head" in row_a
    row_b = re.search(r'<tr data-org-id="org-b">.*?</tr>', page, re.S).group(0)
    assert "at head (main database)" in row_b  # a shared organization: the main database's status
    row_e = re.search(r'<tr data-org-id="org-e">.*?</tr>', page, re.S).group(0)
    assert "NOT_SET_ANYWHERE is not set" in row_e and "env" in row_e
    assert CANARY not in page


def test_search_and_pages_of_fifty(app, owner_client):
    for n in range(120):
        add_org(app, f"org-{n:03d}", f"Charity {n:03d}")
    add_org(app, "special", "Zeta 100% Trust")
    first = owner_client.get("/organizations").get_data(as_text=True)
    assert first.count('<tr data-org-id="') == 50 and 'rel="next"' in first and 'rel="prev"' not in first
    third = owner_client.get("/organizations?page=3").get_data(as_text=True)
    assert third.count('<tr data-org-id="') == 21 and 'rel="next"' not in third
    assert owner_client.get("/organizations?q=charity 01").get_data(as_text=True).count('<tr data-org-id="') == 10
    assert owner_client.get("/organizations?q=org-007").get_data(as_text=True).count('<tr data-org-id="') == 1
    assert owner_client.get("/organizations?q=100%").get_data(as_text=True).count('<tr data-org-id="') == 1
    assert owner_client.get("/organizations?page=abc").status_code == 200


def test_detail_counts_and_help(app, owner_client, databases):
    add_org(app, "org-b", "Beta Benevolent")
    add_donors(databases["main"], "org-b", ["Baker", "Brown", "Bell"])
    page = owner_client.get("/organizations/org-b").get_data(as_text=True)
    assert re.search(r'data-testid="donor-count">3<', page)
    assert "flask --app wsgi db upgrade" in page


def test_save_tests_first_then_stores_and_audits(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid")
    response = post_form(
        owner_client,
        "/organizations/org-a",
        "/organizations/org-a/database",
        database_url=with_password(databases["tenant_a"]),
    )
    assert response.status_code == 302
    assert stored_url(databases, "org-a") == with_password(databases["tenant_a"])
    page = owner_client.get("/organizations/org-a").get_data(as_text=True)
    assert "database.save" in page and "shared -&gt; postgres@127.0.0.1:5432/" in page
    assert CANARY not in page


def test_failed_test_refuses_the_save_and_writes_nothing(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid")
    dead = f"postgresql://u:{CANARY}@127.0.0.1:{free_port()}/db"
    response = post_form(owner_client, "/organizations/org-a", "/organizations/org-a/database", database_url=dead)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "refused" in page and CANARY not in page
    assert stored_url(databases, "org-a") is None
    # An owner may force it, knowingly.
    response = post_form(
        owner_client, "/organizations/org-a", "/organizations/org-a/database", database_url=dead, force="y"
    )
    assert response.status_code == 302 and stored_url(databases, "org-a") == dead


def test_invalid_or_forbidden_url_cannot_be_forced(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid")
    for bad in ("mysql://u:p@127.0.0.1/db", databases["main"], "postgresql://u:p@169.254.169.254/db"):
        response = post_form(
            owner_client, "/organizations/org-a", "/organizations/org-a/database", database_url=bad, force="y"
        )
        assert response.status_code == 422
    assert stored_url(databases, "org-a") is None


def test_blank_password_keeps_the_stored_one(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid", database_url=with_password(databases["tenant_a"]))
    edited = without_password(databases["tenant_a"]) + "?application_name=edited"
    response = post_form(owner_client, "/organizations/org-a", "/organizations/org-a/database", database_url=edited)
    assert response.status_code == 302
    assert stored_url(databases, "org-a") == with_password(databases["tenant_a"]) + "?application_name=edited"


def test_saved_urls_are_encrypted_when_a_key_is_set(make_app, databases):
    app = make_app(TENANT_URL_ENCRYPTION_KEY=new_fernet_key())
    add_org(app, "org-a", "Alpha Aid")
    add_admin(app, "owner@example.org", "owner")
    client = app.test_client()
    login(client, "owner@example.org")
    post_form(
        client,
        "/organizations/org-a",
        "/organizations/org-a/database",
        database_url=with_password(databases["tenant_a"]),
    )
    assert stored_url(databases, "org-a").startswith("enc:v1:")
    assert "stored encrypted" in client.get("/organizations/org-a").get_data(as_text=True)


def test_clear_needs_confirmation(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
    assert "Return Alpha Aid to shared mode?" in owner_client.get("/organizations/org-a/database/clear").get_data(
        as_text=True
    )
    post_form(owner_client, "/organizations/org-a/database/clear", "/organizations/org-a/database/clear")
    assert stored_url(databases, "org-a") == databases["tenant_a"]
    response = post_form(
        owner_client, "/organizations/org-a/database/clear", "/organizations/org-a/database/clear", confirm="y"
    )
    assert response.status_code == 302 and stored_url(databases, "org-a") is None


def test_viewer_sees_no_edit_controls_and_gets_403(app, databases):
    add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
    add_admin(app, "viewer@example.org", "viewer")
    client = app.test_client()
    login(client, "viewer@example.org")
    page = client.get("/organizations/org-a").get_data(as_text=True)
    assert 'data-testid="save-button"' not in page and 'name="database_url"' not in page
    assert 'data-testid="test-stored-button"' in page
    assert (
        post_form(
            client, "/organizations/org-a", "/organizations/org-a/database", database_url=databases["tenant_b"]
        ).status_code
        == 403
    )
    assert (
        post_form(
            client, "/organizations/org-a", "/organizations/org-a/database/test", database_url=databases["tenant_b"]
        ).status_code
        == 403
    )
    assert client.get("/organizations/org-a/database/clear").status_code == 403
    assert post_form(client, "/organizations/org-a", "/organizations/org-a/database/test").status_code == 200
    assert stored_url(databases, "org-a") == databases["tenant_a"]


def test_test_connection_returns_json_for_the_page_script(app, owner_client, databases):
    add_org(app, "org-a", "Alpha Aid")
    token = csrf_token(owner_client.get("/organizations/org-a").get_data(as_text=True))
    response = owner_client.post(
        "/organizations/org-a/database/test",
        headers={"Accept": "application/json"},
        data={"csrf_token": token, "database_url": with_password(databases["tenant_a"])},
    )
    data = response.get_json()["data"]
    assert data["ok"] and data["code"] == "ok" and CANARY not in response.get_data(as_text=True)
    assert stored_url(databases, "org-a") is None  # a test never saves


def test_connectivity_tests_are_rate_limited_per_admin(make_app, databases):
    app = make_app(TENANT_TEST_RATE_LIMIT="3/minute")
    add_org(app, "org-a", "Alpha Aid")
    add_admin(app, "owner@example.org", "owner")
    client = app.test_client()
    login(client, "owner@example.org")
    codes = [
        post_form(
            client, "/organizations/org-a", "/organizations/org-a/database/test", database_url=databases["tenant_a"]
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    # The save runs the same test: it shares the budget.
    assert (
        post_form(
            client, "/organizations/org-a", "/organizations/org-a/database", database_url=databases["tenant_a"]
        ).status_code
        == 429
    )


def test_with_multi_database_off_the_console_says_so_and_the_api_reports_active(make_app, databases):
    from tests.api.test_api import create_token

    for enabled in (False, True):
        app = make_app(ENABLE_MULTI_DATABASE=enabled)
        add_org(app, "org-a", "Alpha Aid")
        add_admin(app, "owner@example.org", "owner")
        client = app.test_client()
        login(client, "owner@example.org")
        page = client.get("/organizations").get_data(as_text=True)
        assert ('data-testid="multi-database-off"' in page) is not enabled
        saved = post_form(
            client, "/organizations/org-a", "/organizations/org-a/database", database_url=databases["tenant_a"]
        )
        flashed = client.get(saved.headers["Location"]).get_data(as_text=True)
        if enabled:
            assert "Alpha Aid now uses" in flashed
        else:
            assert "now uses" not in flashed and "the main database still serves Alpha Aid" in flashed
        headers = {"Authorization": f"Bearer {create_token(app, 'owner@example.org')}"}
        data = client.get("/api/organizations/org-a/database", headers=headers).get_json()["data"]
        assert data["hasDedicatedDatabase"] is True and data["active"] is enabled
        sql(databases["main"], 'TRUNCATE "Organization", "AdminUser", "ApiToken" CASCADE')


def test_a_refused_save_keeps_what_was_typed_without_its_password(app, owner_client):
    add_org(app, "org-a", "Alpha Aid")
    port = free_port()
    typed = f"postgresql://bob:{CANARY}@127.0.0.1:{port}/org1?sslmode=prefer"
    refused = post_form(owner_client, "/organizations/org-a", "/organizations/org-a/database", database_url=typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and CANARY not in page
    assert f'value="postgresql://bob@127.0.0.1:{port}/org1?sslmode=prefer"' in page
    assert 'data-testid="password-removed"' in page
    clean = post_form(
        owner_client,
        "/organizations/org-a",
        "/organizations/org-a/database/test",
        database_url=f"postgres://127.0.0.1:{port}/x",
    ).get_data(as_text=True)
    assert f'value="postgres://127.0.0.1:{port}/x"' in clean and 'data-testid="password-removed"' not in clean


def test_the_url_can_be_entered_in_parts_with_a_hidden_password(app, owner_client, databases):
    from sqlalchemy.engine import make_url

    add_org(app, "org-a", "Alpha Aid")
    tenant = make_url(databases["tenant_a"])
    parts = {"host": tenant.host, "port": str(tenant.port), "dbname": tenant.database, "user": tenant.username}
    page = owner_client.get("/organizations/org-a").get_data(as_text=True)
    assert 'name="password" type="password"' in page and 'data-testid="url-parts"' in page
    tested = post_form(owner_client, "/organizations/org-a", "/organizations/org-a/database/test", **parts)
    assert tested.status_code == 200 and ">ok<" in tested.get_data(as_text=True)
    password = "p@ss:w/rd " + CANARY
    saved = post_form(
        owner_client,
        "/organizations/org-a",
        "/organizations/org-a/database",
        password=password,
        sslmode="prefer",
        **parts,
    )
    assert saved.status_code == 302
    stored = make_url(stored_url(databases, "org-a"))
    assert (stored.host, stored.port, stored.database, stored.username) == (
        tenant.host,
        tenant.port,
        tenant.database,
        tenant.username,
    )
    assert stored.password == password and stored.query["sslmode"] == "prefer"
    refused = post_form(
        owner_client,
        "/organizations/org-a",
        "/organizations/org-a/database",
        host="127.0.0.1",
        port=str(free_port()),
        dbname="x",
        password=CANARY,
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and CANARY not in page and 'value="127.0.0.1"' in page
    assert 'data-testid="password-removed"' in page
    bad_port = post_form(
        owner_client, "/organizations/org-a", "/organizations/org-a/database/test", host="h", port="99999"
    )
    assert bad_port.status_code == 400 and "Port" in bad_port.get_data(as_text=True)
