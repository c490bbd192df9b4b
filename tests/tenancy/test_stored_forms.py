"""Where the URL lives: plain (the guide's Option B), env:NAME, or enc:v1: under Fernet keys."""

from app.tenancy.urls import fernet_for, resolve_stored, seal
from tests.helpers import new_fernet_key, sql
from tests.tenancy.test_routing import DONOR_IDS, set_url


def test_env_form_reads_the_url_when_connecting(world, databases, monkeypatch):
    app, client, rows = world()
    monkeypatch.setenv("ORG_A_DATABASE_URL", databases["tenant_a"])
    set_url(databases, "org-a", "env:ORG_A_DATABASE_URL")
    assert set(DONOR_IDS.findall(client.get("/organizations/org-a/donors").get_data(as_text=True))) == set(rows["a"])
    monkeypatch.delenv("ORG_A_DATABASE_URL")
    page = client.get("/organizations/org-a/donors").get_data(as_text=True)
    assert "ORG_A_DATABASE_URL is not set" in page and 'data-testid="fallback-banner"' in page


def test_encrypted_form_is_routed(world, databases):
    key = new_fernet_key()
    app, client, rows = world(TENANT_URL_ENCRYPTION_KEY=key)
    set_url(databases, "org-a", seal(databases["tenant_a"], fernet_for(key)))
    assert set(DONOR_IDS.findall(client.get("/organizations/org-a/donors").get_data(as_text=True))) == set(rows["a"])


def test_encrypt_urls_encrypts_then_rotates_and_is_safe_to_rerun(make_app, databases):
    old, new = new_fernet_key(), new_fernet_key()
    plain = "postgresql://u:Canary7x@127.0.0.1:5432/org1_db"
    app = make_app(TENANT_URL_ENCRYPTION_KEY=old)
    from tests.helpers import add_org

    add_org(app, "plain", database_url=plain)
    add_org(app, "env", database_url="env:ORG_URL")
    add_org(app, "shared")
    first = app.test_cli_runner().invoke(args=["tenants", "encrypt-urls"])
    assert first.exit_code == 0 and "encrypted=1 rotated=0 env=1 shared=1 failed=0" in first.output
    stored = dict(sql(databases["main"], 'SELECT id, "databaseUrl" FROM "Organization"'))
    assert stored["plain"].startswith("enc:v1:") and "Canary7x" not in stored["plain"]
    assert stored["env"] == "env:ORG_URL" and stored["shared"] is None
    # Rotation: the new key first, the old one still accepted for reading.
    rotated_app = make_app(TENANT_URL_ENCRYPTION_KEY=f"{new},{old}")
    second = rotated_app.test_cli_runner().invoke(args=["tenants", "encrypt-urls"])
    assert second.exit_code == 0 and "encrypted=0 rotated=1" in second.output
    value = sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'plain'""")[0][0]
    assert resolve_stored(value, fernet_for(new)) == plain
    assert "Canary7x" not in first.output + second.output


def test_encrypt_urls_reports_rows_it_cannot_decrypt(make_app):
    from tests.helpers import add_org

    app = make_app(TENANT_URL_ENCRYPTION_KEY=new_fernet_key())
    add_org(app, "foreign", database_url=seal("postgresql://u:p@127.0.0.1/db", fernet_for(new_fernet_key())))
    result = app.test_cli_runner().invoke(args=["tenants", "encrypt-urls"])
    assert result.exit_code == 1 and "failed=1" in result.output
