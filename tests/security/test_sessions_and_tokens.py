"""Sessions that really end, proxies believed only when configured, locks that an attacker cannot
turn against the owner, tokens that expire and can be revoked, HTTPS first."""

import pytest

from config import Config, ConfigError
from tests.helpers import PASSWORD, add_admin, add_org, csrf_token, login, sql


def post_login(client, email, password, **environ):
    token = csrf_token(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token}, environ_base=environ)


def signed_in(client) -> bool:
    return client.get("/organizations").status_code == 200


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def client_with(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_saved_before_sign_out_stops_working(app):
    add_admin(app, "owner@example.org")
    client = app.test_client()
    login(client, "owner@example.org")
    saved = cookie_of(client)
    assert signed_in(client_with(app, saved))
    token = csrf_token(client.get("/organizations").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert not signed_in(client_with(app, saved))


def test_reset_password_and_deactivation_end_every_session(app, databases):
    add_admin(app, "owner@example.org")
    client = app.test_client()
    login(client, "owner@example.org")
    saved = cookie_of(client)
    reset = app.test_cli_runner().invoke(args=["reset-password", "owner@example.org"])
    assert reset.exit_code == 0 and "Password (shown once): " in reset.output
    assert not signed_in(client_with(app, saved))
    new_password = reset.output.rsplit("Password (shown once): ", 1)[1].strip()
    assert post_login(client, "owner@example.org", PASSWORD).status_code == 401  # the old one no longer works
    assert post_login(client, "owner@example.org", new_password).status_code == 302
    sql(databases["main"], """UPDATE "AdminUser" SET active = false WHERE email = 'owner@example.org'""")
    assert not signed_in(client)


def test_forwarded_headers_are_believed_only_from_trusted_proxies(make_app, databases):
    for proxies, expected_codes in ((0, [401, 401, 429]), (1, [401, 401, 401])):
        app = make_app(TRUSTED_PROXIES=proxies, LOGIN_RATE_LIMIT_IP="2/minute")
        client = app.test_client()
        codes = [
            post_login(client, "x@example.org", "bad", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
            for n in range(3)
        ]
        assert codes == expected_codes, proxies
    add_admin(app, "owner@example.org")
    add_org(app, "org-a", "Alpha")
    client = app.test_client()
    post_login(client, "owner@example.org", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    client.get("/organizations/org-a/donors", environ_base={"HTTP_X_FORWARDED_FOR": "198.51.100.7"})
    ips = sql(databases["main"], """SELECT DISTINCT ip FROM "AuditEvent" WHERE action = 'tenant.read'""")
    assert ips == [("198.51.100.7",)]  # the client's address, not the proxy's


def test_failures_lock_an_account_per_address_and_reset_password_lifts_it(make_app):
    app = make_app(LOGIN_FAILURES_PER_ACCOUNT="3/15minutes")
    add_admin(app, "owner@example.org")
    attacker, owner = {"REMOTE_ADDR": "127.0.0.5"}, {"REMOTE_ADDR": "127.0.0.6"}
    client = app.test_client()
    assert [post_login(client, "owner@example.org", "wrong", **attacker).status_code for _ in range(3)] == [401] * 3
    assert post_login(client, "owner@example.org", PASSWORD, **attacker).status_code == 429  # locked there
    assert post_login(app.test_client(), "owner@example.org", PASSWORD, **owner).status_code == 302  # not here
    reset = app.test_cli_runner().invoke(
        args=["reset-password", "owner@example.org", "--password-stdin"], input="a-brand-new-long-password\n"
    )
    assert reset.exit_code == 0 and "a-brand-new-long-password" not in reset.output
    again = post_login(app.test_client(), "owner@example.org", "a-brand-new-long-password", **attacker)
    assert again.status_code == 302  # the lock on that address is lifted


def test_tokens_expire_and_can_be_revoked(app, databases):
    add_admin(app, "owner@example.org")
    runner = app.test_cli_runner()

    def token(*args):
        result = runner.invoke(args=["create-token", "owner@example.org", *args])
        assert result.exit_code == 0, result.output
        return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}

    client = app.test_client()
    short, ci, deploy = (
        token("--expires-days", "1", "--name", "short"),
        token("--name", "ci"),
        token("--name", "deploy"),
    )
    for headers in (short, ci, deploy):
        assert client.get("/api/organizations", headers=headers).status_code == 200
    expires = sql(databases["main"], """SELECT name, "expiresAt" - "createdAt" FROM "ApiToken" ORDER BY name""")
    assert [(name, delta.days) for name, delta in expires] == [("ci", 90), ("deploy", 90), ("short", 1)]
    sql(databases["main"], """UPDATE "ApiToken" SET "expiresAt" = now() - interval '1 second' WHERE name = 'short'""")
    assert client.get("/api/organizations", headers=short).status_code == 401
    revoked = runner.invoke(args=["revoke-tokens", "owner@example.org", "--name", "ci"])
    assert revoked.exit_code == 0 and "Revoked 1 token" in revoked.output
    assert client.get("/api/organizations", headers=ci).status_code == 401
    assert client.get("/api/organizations", headers=deploy).status_code == 200
    assert runner.invoke(args=["revoke-tokens", "owner@example.org"]).exit_code == 0
    assert client.get("/api/organizations", headers=deploy).status_code == 401


def test_https_comes_before_the_sign_in_redirect_and_the_host_must_be_trusted(make_app):
    client = make_app(FORCE_HTTPS=True, TRUSTED_HOST_NAMES=["console.example.org"]).test_client()
    response = client.get("/organizations/org-a/donors", base_url="http://console.example.org")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://console.example.org/organizations/org-a/donors"
    forged = client.get("/organizations", base_url="http://evil.example")
    assert forged.status_code == 400 and "evil.example" not in forged.headers.get("Location", "")
    assert client.get("/healthz", base_url="http://10.0.0.7:8000").status_code == 200  # a probe by address


def test_production_with_force_https_needs_trusted_hosts(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("FORCE_HTTPS", "true")
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        Config()
    monkeypatch.setenv("TRUSTED_HOSTS", "console.example.org")
    assert Config().TRUSTED_HOST_NAMES == ["console.example.org"]
