"""Operator commands: admins, tokens, organizations, demo data."""

import hashlib

from sqlalchemy import func, select

from app.extensions import db
from app.models import AdminUser, ApiToken, Campaign, Donation, Donor, DonorPreference, Organization
from tests.helpers import add_org, sql


def test_create_admin_reads_password_from_stdin(runner, app):
    result = runner.invoke(
        args=["create-admin", "Ops@Example.org", "--role", "viewer", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-long-enough-password" not in result.output
    with app.app_context():
        admin = db.session.scalar(select(AdminUser))
        assert admin.email == "ops@example.org" and admin.role == "viewer"
        assert admin.password_hash.startswith("$argon2")


def test_create_admin_generates_and_prints_password_once(runner, app, client):
    from tests.helpers import login

    result = runner.invoke(args=["create-admin", "owner@example.org"])
    assert result.exit_code == 0
    password = result.output.strip().splitlines()[-1].split(": ")[-1]
    assert login(client, "owner@example.org", password).status_code == 302


def test_create_admin_with_organization_scope(runner, app):
    add_org(app, "org-a")
    result = runner.invoke(args=["create-admin", "s@example.org", "--role", "viewer", "--org", "org-a"])
    assert result.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(AdminUser)).organization_scope == {"org-a"}
    bad = runner.invoke(args=["create-admin", "t@example.org", "--org", "missing"])
    assert bad.exit_code != 0 and "not found" in bad.output


def test_create_admin_refuses_duplicates_and_short_passwords(runner):
    assert runner.invoke(args=["create-admin", "a@example.org"]).exit_code == 0
    assert runner.invoke(args=["create-admin", "A@example.org"]).exit_code == 1
    short = runner.invoke(args=["create-admin", "b@example.org", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "12 characters" in short.output


def test_create_token_prints_token_last_and_stores_only_its_hash(runner, app):
    runner.invoke(args=["create-admin", "a@example.org"])
    result = runner.invoke(args=["create-token", "a@example.org", "--name", "ci"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    with app.app_context():
        stored = db.session.scalar(select(ApiToken))
        assert stored.name == "ci" and stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(sql(app.config["DATABASE_URL"], 'SELECT * FROM "ApiToken"'))


def test_orgs_create_prints_the_id_last(runner, app):
    result = runner.invoke(args=["orgs", "create", "Food Bank", "--id", "food-bank"])
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1] == "food-bank"
    generated = runner.invoke(args=["orgs", "create", "Shelter"]).output.strip().splitlines()[-1]
    with app.app_context():
        assert db.session.get(Organization, generated).name == "Shelter"
    assert runner.invoke(args=["orgs", "create", "Again", "--id", "food-bank"]).exit_code == 1
    assert runner.invoke(args=["orgs", "create", "Bad", "--id", "no spaces"]).exit_code == 1


FIRST_DONORS = """SELECT id, "firstName", "lastName", email FROM "Donor" WHERE "organizationId" = 'org_hope'
                  ORDER BY id LIMIT 3"""


def counts(app, org_id):
    with app.app_context():
        return {
            m.__tablename__: db.session.scalar(select(func.count()).select_from(m).where(m.organization_id == org_id))
            for m in (Campaign, Donor, DonorPreference, Donation)
        }


def test_demo_data_is_deterministic_and_uses_copy(runner, app, make_app, databases):
    result = runner.invoke(args=["demo-data", "--donors", "300"])
    assert result.exit_code == 0, result.output
    loaded = counts(app, "org_hope")
    assert loaded["Donor"] == loaded["DonorPreference"] == 300 and loaded["Campaign"] == 5
    assert 600 < loaded["Donation"] < 1200  # about three gifts per donor
    # The loader writes each donor's stats itself; they equal what the triggers would compute.
    assert sql(
        databases["main"],
        """
        SELECT count(*) FROM "Donor" d WHERE "lifetimeTotal" IS DISTINCT FROM
          (SELECT sum(amount) FROM "Donation" x WHERE x."donorId" = d.id)
          OR "giftCount" <> (SELECT count(*) FROM "Donation" x WHERE x."donorId" = d.id)
          OR "lastGiftDate" IS DISTINCT FROM (SELECT max(date) FROM "Donation" x WHERE x."donorId" = d.id)""",
    ) == [(0,)]
    # And each campaign's, from all its gifts at once.
    assert sql(
        databases["main"],
        """
        SELECT count(*) FROM "Campaign" c WHERE "giftCount" = 0
          OR "raisedTotal" <> (SELECT sum(amount) FROM "Donation" x WHERE x."campaignId" = c.id)
          OR "giftCount" <> (SELECT count(*) FROM "Donation" x WHERE x."campaignId" = c.id)
          OR "donorCount" <> (SELECT count(DISTINCT "donorId") FROM "Donation" x WHERE x."campaignId" = c.id)""",
    ) == [(0,)]
    # Coherent: a donor since (at most a month) before the first gift, campaigns named for
    # their dates, and each campaign gift within its campaign's dates.
    assert sql(
        databases["main"],
        """SELECT count(*) FROM "Donor" d
           WHERE "createdAt"::date > (SELECT min(date) FROM "Donation" x WHERE x."donorId" = d.id)""",
    ) == [(0,)]
    assert sql(
        databases["main"],
        """SELECT count(*) FROM "Campaign" WHERE name NOT LIKE '%%' || extract(year FROM "startDate")::text || '%%'""",
    ) == [(0,)]
    assert sql(
        databases["main"],
        """SELECT count(*) FROM "Donation" x JOIN "Campaign" c ON c.id = x."campaignId"
           WHERE x.date NOT BETWEEN c."startDate" AND c."endDate" """,
    ) == [(0,)]
    first = sql(databases["main"], FIRST_DONORS)
    again = runner.invoke(args=["demo-data", "--donors", "300"])
    assert "skipped" in again.output and counts(app, "org_hope") == loaded
    # The same seed into another database gives the same rows.
    result = runner.invoke(
        args=["demo-data", "--donors", "300", "--org", "org_hope", "--database-url", databases["tenant_a"]]
    )
    assert result.exit_code == 0, result.output
    copy = sql(databases["tenant_a"], FIRST_DONORS)
    assert copy == first


def test_demo_data_refuses_a_database_without_schema(runner, new_database):
    empty = new_database("empty", migrated=False)
    result = runner.invoke(args=["demo-data", "--org", "x", "--database-url", empty])
    assert result.exit_code != 0 and "no schema" in result.output


def test_a_second_setup_demo_says_how_to_sign_in(make_app, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    app = make_app()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["setup-demo"])
    assert "Password (shown once)" in first.output
    second = runner.invoke(args=["setup-demo"])
    assert "Password (shown once)" not in second.output and "reset-password admin@example.org" in second.output
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "tenants", "status"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: SECRET_KEY is not set")


def test_hints_from_a_make_run_checkout_run_as_printed(make_app, new_database):
    """In development (make run) the console prints commands with the settings and the flask that
    checkout needs; the schema hint, run by a shell exactly as printed, migrates the database."""
    import html
    import re
    import subprocess
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from tests.helpers import add_admin, add_org, login

    root = Path(__file__).resolve().parents[1]
    bare = new_database("hint", migrated=False)
    app = make_app(APP_ENV="development", ENABLE_MULTI_DATABASE=True)
    add_org(app, "org-a", "Alpha Aid", database_url=bare)
    add_admin(app, "owner@example.org")
    client = app.test_client()
    login(client, "owner@example.org")
    page = html.unescape(client.get("/organizations/org-a").get_data(as_text=True))
    assert "APP_ENV=development .venv/bin/flask --app wsgi tenants move org-a --to <url>" in page
    with app.app_context():
        from app.tenancy.service import tenancy

        probe = tenancy().probe(make_url(bare))
    assert probe.code == "schema_missing"
    command = re.search(r"Run the migrations on it: (.*)$", str(probe.hint)).group(1).replace("<url>", bare)
    assert (
        command.startswith('DATABASE_URL="') and "APP_ENV=development .venv/bin/flask --app wsgi db upgrade" in command
    )
    done = subprocess.run(["bash", "-c", command], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
    with app.app_context():
        assert tenancy().probe(make_url(bare)).code == "ok"
