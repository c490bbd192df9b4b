"""An administrator signs in, sees the organizations, and signs out, in a real browser."""

from tests.helpers import PASSWORD, add_admin, add_org


def test_sign_in_see_organizations_sign_out(app, live_server, page, shot):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-hope", "Hope Harbor Foundation")
    add_org(app, "org-green", "Green Valley Land Trust", database_url="postgresql://u:p@127.0.0.1:5432/green")

    page.goto(f"{live_server}/organizations")
    assert page.url.startswith(f"{live_server}/login")  # sent to sign in first
    page.fill("#email", "owner@example.org")
    page.fill("#password", "wrong password")
    page.click("input[type=submit]")
    assert page.locator(".alert-danger").inner_text() == "Invalid email or password."
    shot("sign-in-failed")

    page.fill("#email", "owner@example.org")
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/organizations")
    table = page.locator("[data-testid=organizations]")
    assert "Hope Harbor Foundation" in table.inner_text()
    assert "Green Valley Land Trust" in table.inner_text()
    assert page.locator("[data-testid=signed-in-as]").inner_text().startswith("owner@example.org")
    # Bootstrap is served by the app itself: its stylesheet applied to the navbar.
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    shot("organizations")

    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    assert "You have been signed out." in page.content()
    page.goto(f"{live_server}/organizations")
    assert page.url.startswith(f"{live_server}/login")
