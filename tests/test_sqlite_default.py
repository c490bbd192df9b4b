"""The embedded SQLite default (what `make run` uses): migrate, sign in, healthz, donor pages."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import add_admin, add_org, login

ROOT = Path(__file__).resolve().parents[1]


def test_sqlite_main_database_migrates_and_serves(tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    env = dict(os.environ, APP_ENV="development", DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    app = make_app(DATABASE_URL=url)
    add_org(app, "org-local", "Local Org")
    add_admin(app, "dev@example.org")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert login(client, "dev@example.org").status_code == 302
    assert "Local Org" in client.get("/organizations").get_data(as_text=True)
    conn = sqlite3.connect(tmp_path / "console.db")
    with conn:
        conn.execute(
            """INSERT INTO "Campaign" (id, "organizationId", name) VALUES ('c1', 'org-local', 'Spring appeal')"""
        )
        conn.execute("""INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName")
                        VALUES ('d1', 'org-local', 'Ada', 'Lovelace')""")
        conn.execute("""INSERT INTO "Donation" (id, "organizationId", "donorId", "campaignId", amount, date)
                        VALUES ('g1', 'org-local', 'd1', 'c1', 1234.5, '2026-01-01')""")
    conn.close()
    # Shared-mode donor pages read the SQLite main database through the read-only engine;
    # the statements psycopg would send in one round trip go one after another here.
    page = client.get("/organizations/org-local/donors").get_data(as_text=True)
    assert "Lovelace, Ada" in page and "1,234.50" in page and ">Spring appeal</option>" in page
    assert "1 donor" in page
    detail = client.get("/organizations/org-local/donors/d1").get_data(as_text=True)
    assert "Ada Lovelace" in detail and "Spring appeal" in detail and "1,234.50" in detail
