"""The embedded SQLite default (what `make run` uses): migrate, sign in, healthz."""
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import add_admin, add_org, login

ROOT = Path(__file__).resolve().parents[1]


def test_sqlite_main_database_migrates_and_serves(tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    env = dict(os.environ, APP_ENV="development", DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    upgrade = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    app = make_app(DATABASE_URL=url)
    add_org(app, "org-local", "Local Org")
    add_admin(app, "dev@example.org")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert login(client, "dev@example.org").status_code == 302
    assert "Local Org" in client.get("/organizations").get_data(as_text=True)
    # Shared-mode donor pages read the SQLite main database through the read-only engine.
    assert client.get("/organizations/org-local/donors").status_code == 200
