"""The guide's names: its SQL runs verbatim on a migrated database."""

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import sql

ROOT = Path(__file__).resolve().parents[1]


def test_guide_sql_runs_as_written(app, databases):
    url = databases["main"]
    sql(url, """INSERT INTO "Organization" (id, name) VALUES ('organization-id-here', 'Org 1')""")
    sql(
        url,
        """UPDATE "Organization" SET "databaseUrl" = 'postgresql://user:pass@host:5432/org1_db'
                WHERE id = 'organization-id-here'""",
    )
    sql(
        url,
        """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName", email)
                VALUES ('d1', 'organization-id-here', 'Ada', 'Lovelace', 'ada@example.org')""",
    )
    sql(url, """INSERT INTO "Campaign" (id, "organizationId", name) VALUES ('c1', 'organization-id-here', 'Gala')""")
    sql(
        url,
        """INSERT INTO "Donation" (id, "organizationId", "donorId", amount, date)
                VALUES ('g1', 'organization-id-here', 'd1', 12.50, '2026-01-31')""",
    )
    sql(
        url,
        """INSERT INTO "DonorPreference" (id, "organizationId", "donorId")
           VALUES ('p1', 'organization-id-here', 'd1')""",
    )
    sql(url, """UPDATE "Organization" SET "databaseUrl" = NULL WHERE id = 'organization-id-here'""")
    row = sql(url, """SELECT "createdAt" IS NOT NULL, "updatedAt" IS NOT NULL, "databaseUrl" FROM "Organization" """)
    assert row == [(True, True, None)]
    assert sql(url, 'SELECT amount::text, currency FROM "Donation"') == [("12.50", "USD")]


def test_tenant_indexes_lead_with_organization_id(databases):
    rows = sql(
        databases["tenant_a"],
        """
        SELECT tablename, indexdef FROM pg_indexes
        WHERE tablename IN ('Donor', 'Donation', 'DonorPreference', 'Campaign') AND indexname NOT LIKE 'pk_%'""",
    )
    assert rows
    for table, definition in rows:
        assert '("organizationId"' in definition, (table, definition)


def test_db_upgrade_against_unreachable_database_prints_one_line(tmp_path):
    env = dict(
        os.environ,
        APP_ENV="testing",
        DATABASE_URL="postgresql://bob:Sup3rSecretPw@127.0.0.1:1/maindb",
        INSTANCE_PATH=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip()
    assert len(output.splitlines()) == 1, output
    assert output.startswith("error: cannot connect to bob@127.0.0.1:1/maindb")
    assert "Sup3rSecretPw" not in output


def test_the_models_and_the_migrations_agree(databases):
    """flask db check on a database at head: no operation left for autogenerate (a drift here would
    make the next `flask db migrate` drop the audit partitions, say)."""
    env = dict(os.environ, APP_ENV="testing", DATABASE_URL=databases["tenant_b"])
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "No new upgrade operations detected" in result.stdout + result.stderr, (
        result.stdout + result.stderr
    )[-2000:]
