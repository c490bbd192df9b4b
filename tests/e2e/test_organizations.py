"""Owners point an organization at its own database and back, in a real browser."""

from urllib.parse import quote

import pytest

from tests.helpers import PASSWORD, add_admin, add_donors, add_org, sql


@pytest.fixture
def app(make_app):
    return make_app(ENABLE_MULTI_DATABASE=True)


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/organizations")


def donor_names(page):
    return set(page.locator("[data-testid=donors] tbody tr[data-donor-id] td:first-child").all_inner_texts())


def test_owner_moves_org_to_dedicated_database_and_back(app, live_server, page, shot, databases):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha Aid")
    add_org(app, "org-b", "Beta Benevolent")
    add_donors(databases["main"], "org-a", ["Shared"])
    add_donors(databases["tenant_a"], "org-a", ["Dedicated", "Isolated"], prefix="org-a-ded")
    sign_in(page, live_server, "owner@example.org")

    page.click("text=Alpha Aid")
    page.fill("#database_url", databases["tenant_a"])
    page.click("[data-testid=test-button]")
    code = page.locator("[data-testid=probe-code]")
    code.wait_for()
    assert code.inner_text() == "ok"
    assert page.input_value("#database_url") == databases["tenant_a"]  # the script kept the URL
    shot("database-panel-test-ok", readme=True)

    page.click("[data-testid=save-button]")
    assert "Saved." in page.locator(".alert-success").first.inner_text()
    assert "postgres@127.0.0.1:5432/" in page.locator("[data-testid=current-target]").inner_text()
    shot("database-panel-saved")

    page.click("text=Browse donors")
    assert donor_names(page) == {"Dedicated, First0", "Isolated, First1"}
    assert "dedicated database" in page.locator("[data-testid=served-by]").inner_text()
    shot("donors-dedicated")

    page.goto(f"{live_server}/organizations")
    shot("organizations-list", readme=True)
    page.click("text=Alpha Aid")
    page.click("[data-testid=clear-link]")
    page.check("#confirm")
    page.click("input[type=submit]")
    assert "back in shared mode" in page.locator(".alert-success").inner_text()
    page.click("text=Browse donors")
    assert donor_names(page) == {"Shared, First0"}
    assert "shared database" in page.locator("[data-testid=served-by]").inner_text()


def test_wrong_password_shows_auth_failed(app, live_server, page, shot, password_cluster, databases):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha Aid")
    sign_in(page, live_server, "owner@example.org")
    page.goto(f"{live_server}/organizations/org-a")
    wrong = f"postgresql://postgres:{quote('not-the-Password')}@127.0.0.1:{password_cluster.port}/postgres"
    page.fill("#database_url", wrong)
    page.click("[data-testid=test-button]")
    page.locator("[data-testid=probe-code]").wait_for()
    assert page.locator("[data-testid=probe-code]").inner_text() == "auth_failed"
    assert "user and the password" in page.locator("[data-testid=probe-hint]").inner_text()
    assert "not-the-Password" not in page.locator("[data-testid=probe-result]").inner_text()
    shot("database-panel-auth-failed", readme=True)
    page.click("[data-testid=save-button]")  # refused: nothing stored
    assert page.locator("[data-testid=probe-code]").inner_text() == "auth_failed"
    assert sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""") == [(None,)]


def test_viewer_sees_no_edit_controls(app, live_server, page, shot, databases):
    add_admin(app, "viewer@example.org", "viewer")
    add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
    sign_in(page, live_server, "viewer@example.org")
    page.goto(f"{live_server}/organizations/org-a")
    assert page.locator("#database_url").count() == 0
    assert page.locator("[data-testid=save-button]").count() == 0
    assert page.locator("[data-testid=clear-link]").count() == 0
    page.click("[data-testid=test-stored-button]")
    assert page.locator("[data-testid=probe-code]").inner_text() == "ok"
    shot("database-panel-viewer")


def test_last_test_is_the_saved_targets_and_follows_each_test(app, live_server, page, databases):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha Aid", database_url=databases["tenant_a"])
    sign_in(page, live_server, "owner@example.org")
    page.goto(f"{live_server}/organizations/org-a")
    last = page.locator("[data-testid=last-test]")
    assert "never tested" in last.inner_text()
    page.fill("#database_url", "postgresql://u:p@127.0.0.1:1/nothing")  # only typed: its result is the alert's
    page.click("[data-testid=test-button]")
    page.locator("[data-testid=probe-code]").wait_for()
    assert page.locator("[data-testid=probe-code]").inner_text() == "refused"
    assert "never tested" in last.inner_text()
    page.fill("#database_url", "")  # the saved target: the panel's Last test follows at once
    page.click("[data-testid=test-button]")
    last.locator("[data-testid=check-code]").wait_for()
    assert last.locator("[data-testid=check-code]").inner_text() == "ok"
    page.reload()
    assert last.locator("[data-testid=check-code]").inner_text() == "ok"  # and it is what the server recorded
    listing = page.goto(f"{live_server}/organizations")
    assert listing.ok and page.locator("tr[data-org-id=org-a] [data-testid=check-code]").inner_text() == "ok"
