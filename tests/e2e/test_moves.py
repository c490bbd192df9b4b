"""An owner moves an organization from its page: the worker runs the move, the page follows it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis

from tests.e2e.test_organizations import sign_in
from tests.helpers import add_admin, sql
from tests.operations.writer import Writer, lost_writes

REDIS = "redis://127.0.0.1:6379/14"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(make_app):
    Redis.from_url(REDIS).flushdb()
    return make_app(ENABLE_MULTI_DATABASE=True, REDIS_URL=REDIS, RATELIMIT_STORAGE_URI=REDIS)


@pytest.fixture
def worker(app, databases):
    """The real worker, as an operator starts it: flask --app wsgi worker."""
    env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": databases["main"], "REDIS_URL": REDIS}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_move_started_on_the_page_runs_in_the_worker_and_the_page_follows_it(
    app, runner, live_server, page, shot, databases, new_database, worker, width
):
    page.set_viewport_size({"width": width, "height": 900})
    add_admin(app, "owner@example.org", "owner")
    assert runner.invoke(args=["demo-data", "--donors", "300", "--org", "org-m"]).exit_code == 0
    writer = Writer(databases["main"], "org-m")
    writer.start()
    target = new_database(f"page{width}")
    sign_in(page, live_server, "owner@example.org")
    page.goto(f"{live_server}/organizations/org-m")
    page.fill("#target_url", target)
    page.click("[data-testid=move-button]")
    page.wait_for_selector("[data-testid=move-state]")
    shot(f"move-started-{width}")
    # The page refreshes itself while the job runs (no script: a meta refresh, within the CSP).
    page.locator("[data-testid=move-state]", has_text="done").wait_for(timeout=60_000)
    shot(f"move-done-{width}")
    text = page.locator("[data-testid=move-job]").inner_text()
    assert "phase done" in text and "writes paused" in text and "rows copied" in text
    time.sleep(0.3)
    writer.finish()
    assert writer.errors == [] and lost_writes(target, writer) == []
    stored = sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-m'""")
    assert stored == [(target,)]
    actions = [
        r[0]
        for r in sql(
            databases["main"],
            """SELECT action FROM "AuditEvent" WHERE "organizationId" = 'org-m'
                                                      AND action LIKE 'tenants.move%' ORDER BY id""",
        )
    ]
    assert actions[:2] == ["tenants.move-queued", "tenants.move"]
