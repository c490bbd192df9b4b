"""Production hardening: headers, HTTPS, sessions, sign-in throttling, readiness, audit, TLS, keys, logs."""

import json
import logging
import re
import time
from pathlib import Path

import pytest
import redis

import config
from tests.helpers import PASSWORD, add_admin, add_donors, add_org, csrf_token, login, new_fernet_key, sql

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def test_security_headers_on_every_page(owner_client):
    for path in ("/login", "/organizations", "/healthz", "/api/openapi.json", "/no-such-page"):
        headers = owner_client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # TLS ends at the proxy unless FORCE_HTTPS


def test_templates_have_no_inline_script_or_style():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert not re.search(r"\sstyle\s*=", text) and "<style" not in text, template


def test_force_https_redirects_and_sends_hsts(make_app):
    client = make_app(FORCE_HTTPS=True).test_client()
    response = client.get("/login")
    assert response.status_code == 301 and response.headers["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200  # the proxy's health check stays on plain HTTP
    secure = client.get("/login", base_url="https://localhost")
    assert secure.status_code == 200 and "max-age=" in secure.headers["Strict-Transport-Security"]


def test_sign_in_starts_a_new_session(client, app):
    add_admin(app, "owner@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client, "owner@example.org")
    with client.session_transaction() as session:
        assert "planted" not in session and "_user_id" in session


def test_idle_sessions_are_signed_out(make_app):
    app = make_app(ADMIN_SESSION_IDLE_MINUTES=1)
    add_admin(app, "owner@example.org")
    client = app.test_client()
    login(client, "owner@example.org")
    assert client.get("/organizations").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - 61
    response = client.get("/organizations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "without activity" in client.get("/login").get_data(as_text=True)
    assert client.get("/organizations").status_code == 302


def post_login(client, email, password):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_repeated_failures_lock_the_account_known_or_not(make_app):
    app = make_app(LOGIN_FAILURES_PER_ACCOUNT="3/15minutes")
    add_admin(app, "owner@example.org")
    add_admin(app, "other@example.org")
    client = app.test_client()
    for email in ("owner@example.org", "ghost@example.org"):
        assert [post_login(client, email, "wrong").status_code for _ in range(3)] == [401, 401, 401]
        locked = post_login(client, email, PASSWORD)
        assert locked.status_code == 429 and "locked" in locked.get_data(as_text=True)
    assert post_login(client, "other@example.org", PASSWORD).status_code == 302  # others are not affected


def test_sign_in_attempts_are_limited_per_address(make_app):
    app = make_app(LOGIN_RATE_LIMIT_IP="4/minute")
    client = app.test_client()
    codes = [post_login(client, f"user{n}@example.org", "x").status_code for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]


def test_throttling_is_shared_through_redis(make_app):
    store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    store.flushdb()
    first = make_app(
        REDIS_URL="redis://127.0.0.1:6379/15",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
        LOGIN_FAILURES_PER_ACCOUNT="2/15minutes",
    )
    for _ in range(2):
        assert post_login(first.test_client(), "shared@example.org", "wrong").status_code == 401
    # A second worker (another app on the same Redis) sees the same count.
    second = make_app(
        REDIS_URL="redis://127.0.0.1:6379/15",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
        LOGIN_FAILURES_PER_ACCOUNT="2/15minutes",
    )
    assert post_login(second.test_client(), "shared@example.org", "wrong").status_code == 429
    assert store.keys("*login:shared@example.org*")
    store.flushdb()


def test_readyz_checks_the_main_database_and_its_schema(make_app, new_database):
    assert make_app().test_client().get("/readyz").get_json()["ready"] is True
    behind = new_database("readybehind")
    sql(behind, "UPDATE alembic_version SET version_num = 'c4e4aa56de15'")
    response = make_app(DATABASE_URL=behind).test_client().get("/readyz")
    assert response.status_code == 503 and "behind head" in response.get_json()["reason"]
    down = make_app(DATABASE_URL="postgresql://u:p@127.0.0.1:1/none").test_client().get("/readyz")
    assert down.status_code == 503


def test_audit_log_filters_exports_and_is_owners_only(app, owner_client, databases):
    add_org(app, "org-a", "Alpha")
    add_org(app, "org-b", "Beta")
    add_donors(databases["main"], "org-a", ["Adams"])
    owner_client.get("/organizations/org-a/donors")
    owner_client.get("/organizations/org-b/donors")
    page = owner_client.get("/audit?organization=org-a&action=tenant.read").get_data(as_text=True)
    rows = re.findall(r'<tr data-event-id="\d+">(.*?)</tr>', page, re.S)
    assert len(rows) == 1 and "org-a" in rows[0] and "owner@example.org" in rows[0] and "shared" in rows[0]
    assert "/organizations/org-a/donors" in rows[0]
    choice = re.search(r'data-testid="organization-choice">(.*?)</select>', page, re.S).group(1)
    assert '<option value="org-a" selected>Alpha (org-a)</option>' in choice and "Beta (org-b)" in choice
    today = time.strftime("%Y-%m-%d")
    csv_text = owner_client.get(f"/audit.csv?admin=owner@example.org&since={today}&until={today}").get_data(
        as_text=True
    )
    assert csv_text.startswith("id,createdAt,actorEmail") and csv_text.count("tenant.read") == 2
    assert owner_client.get("/audit?since=yesterday").status_code == 400
    add_admin(app, "viewer@example.org", "viewer")
    viewer = app.test_client()
    login(viewer, "viewer@example.org")
    assert viewer.get("/audit").status_code == 403 and viewer.get("/audit.csv").status_code == 403


def test_no_route_can_delete_or_change_audit_rows(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("audit."):
            assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule
        assert "audit" not in rule.rule or not rule.methods & {"DELETE", "PUT", "PATCH"}, rule


def test_tls_can_be_required_for_every_dedicated_url(make_app, databases):
    app = make_app(TENANT_DB_REQUIRE_SSL=True, ENABLE_MULTI_DATABASE=True)
    add_admin(app, "owner@example.org")
    add_org(app, "org-a", database_url=databases["tenant_a"])  # stored before the rule: refused at connect time
    client = app.test_client()
    login(client, "owner@example.org")
    token = csrf_token(client.get("/organizations/org-a").get_data(as_text=True))
    response = client.post(
        "/organizations/org-a/database", data={"csrf_token": token, "database_url": databases["tenant_b"]}
    )
    assert response.status_code == 422 and "sslmode=require" in response.get_data(as_text=True)
    page = client.get("/organizations/org-a/donors").get_data(as_text=True)
    assert 'data-testid="fallback-banner"' in page and "sslmode" in page


@pytest.mark.parametrize("key, message", [("not-a-key", "Fernet keys"), ("A" * 43 + "=", "low-entropy")])
def test_weak_or_invalid_encryption_keys_stop_production(monkeypatch, key, message):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("TENANT_URL_ENCRYPTION_KEY", key)
    with pytest.raises(config.ConfigError, match=message):
        config.Config()
    monkeypatch.setenv("TENANT_URL_ENCRYPTION_KEY", new_fernet_key())
    assert config.Config().TENANT_URL_ENCRYPTION_KEY


def test_json_request_logs_carry_request_admin_organization_status_duration(make_app, capsys):
    app = make_app(LOG_FORMAT="json")
    add_admin(app, "owner@example.org")
    add_org(app, "org-a")
    client = app.test_client()
    login(client, "owner@example.org")
    client.get("/organizations/org-a/donors", headers={"X-Request-Id": "req-123"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line.get("path") == "/organizations/org-a/donors")
    assert entry["request_id"] == "req-123" and entry["admin"] == "owner@example.org"
    assert entry["organization"] == "org-a" and entry["status"] == 200 and entry["duration_ms"] > 0
    assert entry["database"] == "shared"


def test_log_records_never_carry_a_url_password(app, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("app").info(
        "connecting to postgresql://alice:Canary-log-1@db:5432/x and %s", "postgres://bob:Canary-log-2@db/y"
    )
    assert "Canary-log" not in caplog.text and "alice:***@db" in caplog.text
