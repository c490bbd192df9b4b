"""Online moves under a live writer: nothing acknowledged is lost, totals stay exact, the old
location is fenced, the writers' pause is bounded, and a killed move is finished or aborted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import add_org, sql
from tests.operations.conftest import stored_url
from tests.operations.writer import Writer, lost_writes, totals_that_differ

ROOT = Path(__file__).resolve().parents[2]


def capture_left(url: str, org_id: str) -> list:
    return sql(
        url,
        """SELECT 'capture' FROM "TenantCapture" WHERE "organizationId" = %(o)s
                       UNION ALL SELECT 'change' FROM "TenantChange" WHERE "organizationId" = %(o)s""",
        {"o": org_id},
    )


def indexes_and_keys(url: str) -> list:
    """The tenant tables' indexes and foreign keys, to compare with a freshly migrated database."""
    return sql(
        url,
        """SELECT pg_get_indexdef(indexrelid) FROM pg_index
                        WHERE indrelid::regclass::text IN ('"Campaign"', '"Donor"', '"DonorPreference"', '"Donation"')
                       UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                        WHERE contype = 'f' ORDER BY 1""",
    )


def fenced(url: str, org_id: str) -> bool:
    return bool(sql(url, """SELECT 1 FROM "TenantFence" WHERE "organizationId" = %s""", (org_id,)))


@pytest.fixture
def writers(app, databases, loaded):
    add_org(app, "org-other", "Other")
    started = [Writer(databases["main"], "org-m"), Writer(databases["main"], "org-other")]
    for writer in started:
        writer.start()
    time.sleep(0.3)
    yield started
    for writer in started:
        writer.finish()


def settle(writer: Writer, seconds: float = 0.4) -> None:
    """Let the writer go on for a moment after a switch (it meets the fence and follows the route)."""
    before = writer.n
    time.sleep(seconds)
    assert writer.n > before, f"the writer stopped writing: {writer.errors[-3:]}"


def test_a_move_under_a_writer_loses_nothing_and_fences_the_source(runner, databases, new_database, writers):
    moving, other = writers
    target = new_database("online")
    result = runner.invoke(args=["tenants", "move", "org-m", "--to", target, "--batch", "100", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["progress"]["last_pause_ms"] < 1000 and report["progress"]["phase"] == "done"
    settle(moving)
    moving.finish()
    other.finish()
    assert moving.errors == [] and other.errors == []
    assert moving.n > 20 and moving.fenced >= 1  # it wrote during the move, met the fence, followed the route
    assert stored_url(databases, "org-m") == target
    assert lost_writes(target, moving) == []
    assert totals_that_differ(target, "org-m") == []
    assert lost_writes(databases["main"], other) == []  # the other organization wrote throughout
    assert fenced(databases["main"], "org-m") and not fenced(target, "org-m")
    assert capture_left(databases["main"], "org-m") == []
    # The empty target was loaded into bare tables: every index and foreign key is back.
    assert indexes_and_keys(target) == indexes_and_keys(new_database("reference"))


def test_a_move_back_under_writes_lifts_the_fence_and_loses_nothing(runner, databases, new_database, writers):
    moving, _ = writers
    target = new_database("roundtrip")
    assert runner.invoke(args=["tenants", "move", "org-m", "--to", target, "--batch", "100"]).exit_code == 0
    settle(moving)
    back = runner.invoke(args=["tenants", "move", "org-m", "--to-shared", "--batch", "100"])
    assert back.exit_code == 0, back.output
    settle(moving)
    moving.finish()
    assert moving.errors == []
    assert stored_url(databases, "org-m") is None
    assert lost_writes(databases["main"], moving) == [] and totals_that_differ(databases["main"], "org-m") == []
    assert not fenced(databases["main"], "org-m") and fenced(target, "org-m")
    assert capture_left(target, "org-m") == []


def test_a_cutover_that_cannot_drain_in_time_releases_the_writers_and_retries(
    make_app, databases, new_database, loaded
):
    import threading

    import psycopg

    app = make_app(TENANT_MOVE_MAX_PAUSE=0.3)
    target = new_database("slowcut")
    release = threading.Event()

    def long_transaction():
        # A write of org-m that stays open for 1.5 s: the cutover cannot get its hold in 0.3 s.
        with psycopg.connect(databases["main"]) as conn:
            while not sql(databases["main"], 'SELECT 1 FROM "TenantCapture"'):
                time.sleep(0.01)
            conn.execute("""UPDATE "Donor" SET city = 'slow' WHERE id = (SELECT min(id) FROM "Donor"
                            WHERE "organizationId" = 'org-m')""")
            release.wait(1.5)
            conn.commit()

    slow = threading.Thread(target=long_transaction)
    slow.start()
    result = app.test_cli_runner().invoke(args=["tenants", "move", "org-m", "--to", target, "--json"])
    release.set()
    slow.join()
    assert result.exit_code == 0, result.output
    progress = json.loads(result.output)["progress"]
    assert progress["cutover_attempts"] >= 2  # released after 0.3 s, caught up, tried again
    assert sql(target, """SELECT count(*) FROM "Donor" WHERE "organizationId" = 'org-m' AND city = 'slow'""") == [(1,)]


def flask_move(databases, *args):
    env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": databases["main"]}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "tenants", "move", "org-m", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_in(process, phase: str) -> bool:
    """SIGKILL once the move says it began phase; False when it finished first."""
    for line in process.stderr:
        if line.startswith(f"phase {phase}"):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
    process.wait()
    return False


@pytest.mark.parametrize("phase", ["copy", "catch-up", "verify", "cutover"])
def test_killed_in_any_phase_then_rerun_finishes_exactly(runner, databases, new_database, writers, phase):
    moving, _ = writers
    target = new_database("killed")
    killed = kill_in(flask_move(databases, "--to", target, "--batch", "100"), phase)
    assert killed or phase == "cutover"  # a cutover may be done before the signal lands
    rerun = runner.invoke(args=["tenants", "move", "org-m", "--to", target, "--batch", "100"])
    assert rerun.exit_code == 0, rerun.output
    settle(moving)
    moving.finish()
    assert moving.errors == []
    assert stored_url(databases, "org-m") == target
    assert lost_writes(target, moving) == [] and totals_that_differ(target, "org-m") == []
    assert capture_left(databases["main"], "org-m") == [] and fenced(databases["main"], "org-m")
    assert indexes_and_keys(target) == indexes_and_keys(new_database("reference"))


def test_abort_after_a_kill_leaves_the_source_as_it_was(runner, databases, new_database, writers):
    moving, _ = writers
    target = new_database("aborted")
    assert kill_in(flask_move(databases, "--to", target, "--batch", "100"), "copy")
    aborted = runner.invoke(args=["tenants", "move", "org-m", "--to", target, "--abort"])
    assert aborted.exit_code == 0, aborted.output
    settle(moving)
    moving.finish()
    assert moving.errors == [] and moving.fenced == 0  # the writer never noticed
    assert stored_url(databases, "org-m") is None
    assert capture_left(databases["main"], "org-m") == [] and not fenced(databases["main"], "org-m")
    assert sql(target, """SELECT count(*) FROM "Donor" WHERE "organizationId" = 'org-m'""") == [(0,)]
    assert indexes_and_keys(target) == indexes_and_keys(new_database("reference"))  # as it was before the move
    assert lost_writes(databases["main"], moving) == [] and totals_that_differ(databases["main"], "org-m") == []


def test_a_move_yielding_to_live_writers_loses_nothing(make_app, databases, new_database, loaded):
    """TENANT_MOVE_YIELD=always takes the paths a move takes beside a busy platform (pacing.py):
    the copy waiting on the WAL not yet flushed, indexes without parallel workers, the two
    checksums one after the other. Same result: nothing lost, totals exact, indexes back."""
    app = make_app(TENANT_MOVE_YIELD="always", ENABLE_MULTI_DATABASE=True)
    add_org(app, "org-other", "Other")
    moving, other = Writer(databases["main"], "org-m"), Writer(databases["main"], "org-other")
    for writer in (moving, other):
        writer.start()
    target = new_database("yielding")
    result = app.test_cli_runner().invoke(args=["tenants", "move", "org-m", "--to", target, "--batch", "100", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["progress"]["yielding"] is True
    settle(moving)
    moving.finish()
    other.finish()
    assert moving.errors == [] and other.errors == [] and moving.fenced >= 1
    assert lost_writes(target, moving) == [] and totals_that_differ(target, "org-m") == []
    assert lost_writes(databases["main"], other) == []
    assert indexes_and_keys(target) == indexes_and_keys(new_database("reference-yielding"))


def test_live_traffic_is_told_from_a_quiet_server(databases):
    """pacing.Traffic: a platform writing (here about 100 rows a second) makes a move yield
    within its sampling window; once it stops, the move goes back to full speed."""
    import threading

    import psycopg

    from app.operations.pacing import Traffic

    stop = threading.Event()

    def commit_often():
        with psycopg.connect(databases["tenant_b"], autocommit=True) as conn:
            conn.execute("CREATE TEMPORARY TABLE platform_rows (n int)")
            while not stop.is_set():
                conn.execute("INSERT INTO platform_rows VALUES (1)")  # a committed row, as a platform writes
                time.sleep(0.01)

    def settles_on(traffic, expected: bool, within: float = 6.0) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if traffic() is expected:
                return True
            time.sleep(0.1)
        return False

    with psycopg.connect(databases["tenant_a"], autocommit=True) as conn:
        traffic = Traffic([conn], "tenant_target_not_counted")
        writer = threading.Thread(target=commit_often, daemon=True)
        writer.start()
        try:
            assert settles_on(traffic, True)
        finally:
            stop.set()
            writer.join()
        assert settles_on(traffic, False)
        assert Traffic([conn], "x", "always")() is True and Traffic([conn], "x", "never")() is False
