"""Sign-in: one generic message, CSRF on every form, every page behind sign-in."""

import pytest

from tests.helpers import PASSWORD, add_admin, add_org, csrf_token, login


@pytest.fixture
def owner(app):
    add_admin(app, "owner@example.org", "owner")
    return "owner@example.org"


def test_sign_in_then_organizations_page(client, owner, app):
    add_org(app, "org-a", "Alpha Aid")
    response = login(client, owner)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organizations")
    page = client.get("/organizations").get_data(as_text=True)
    assert "Alpha Aid" in page and "owner@example.org" in page


def test_wrong_password_and_unknown_email_get_the_same_message(client, owner):
    wrong = login(client, owner, "not the password")
    unknown = login(client, "nobody@example.org", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    message = "Invalid email or password."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert client.get("/organizations").status_code == 302  # still signed out


def test_inactive_admin_cannot_sign_in(client, app, owner):
    from app.extensions import db
    from app.models import AdminUser

    with app.app_context():
        db.session.query(AdminUser).update({"active": False})
        db.session.commit()
    assert login(client, owner).status_code == 401


def test_form_without_csrf_token_is_400(client, owner):
    response = client.post("/login", data={"email": owner, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_logout_is_a_post_with_csrf(client, owner):
    login(client, owner)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    page = client.get("/organizations").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.get("/organizations").status_code == 302


@pytest.mark.parametrize("path", ["/", "/organizations", "/system", "/organizations/any/donors"])
def test_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_healthz_needs_no_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"


def test_healthz_is_503_when_the_main_database_is_down(make_app):
    app = make_app(DATABASE_URL="postgresql://nobody:pw@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_sign_in_does_not_redirect_off_site(client, owner):
    page = client.get("/login?next=https://evil.example/")
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": owner, "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.headers["Location"].endswith("/organizations")


def test_session_cookie_flags(client, owner):
    response = login(client, owner)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_viewer_cannot_open_system_page(client, app):
    add_admin(app, "viewer@example.org", "viewer")
    login(client, "viewer@example.org")
    assert client.get("/system").status_code == 403
