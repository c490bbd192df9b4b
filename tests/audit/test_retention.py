"""Audit retention (audit prune, the worker's daily run) and pages that do not slow down
with an organization's history, on the partitioned "AuditEvent" of real PostgreSQL."""

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import redis
from rq import Queue

from tests.helpers import add_org, sql

EVENT = """INSERT INTO "AuditEvent" ("createdAt", "organizationId", action, outcome, detail)
           SELECT now() - %s::interval, %s, %s, %s, %s || g FROM generate_series(1, %s) g"""


def add_events(url, org, action, count=1, age="0 s", outcome="ok", detail="event "):
    sql(url, EVENT, (age, org, action, outcome, detail, count))


def event_state(url, where):
    return sql(url, f'SELECT count(*), coalesce(sum(hashtext(id || detail)), 0) FROM "AuditEvent" WHERE {where}')[0]


def test_organization_page_finds_the_latest_events_under_thousands_of_newer_reads(app, owner_client, databases):
    url = databases["main"]
    add_org(app, "org-a", "Alpha Aid")
    add_events(url, "org-a", "database.test", age="3 hours", outcome="ok", detail="older test ")
    add_events(url, "org-a", "database.test", age="2 hours", outcome="auth_failed", detail="password refused ")
    add_events(url, "org-a", "tenants.move", age="2 hours", detail="moved to tenant@127.0.0.1 ")
    add_events(url, "org-a", "tenants.migrate", age="90 minutes", detail="upgraded to head ")
    add_events(url, "org-a", "tenants.backup", age="80 minutes", detail="backup written ")
    add_events(url, "org-a", "tenant.read", count=5000, age="1 minute", detail="shared: /organizations/org-a/donors ")

    page = owner_client.get("/organizations/org-a").get_data(as_text=True)
    assert re.search(r'data-testid="check-code">auth_failed<', page)
    operations = re.search(r'data-testid="operations">.*?</dl>', page, re.S).group(0)
    assert "moved to tenant@127.0.0.1 1" in operations and "upgraded to head 1" in operations
    assert "backup written 1" in operations
    activity = re.search(r'data-testid="audit-events">.*?</table>', page, re.S).group(0)
    assert "tenant.read" not in activity  # the reads are on /audit
    assert activity.index("backup written") < activity.index("upgraded to head") < activity.index("moved to")
    listing = owner_client.get("/organizations").get_data(as_text=True)
    row = re.search(r'<tr data-org-id="org-a">.*?</tr>', listing, re.S).group(0)
    assert ">auth_failed<" in row


def test_search_matches_names_and_ids_by_substring(app, owner_client):
    add_org(app, "acme-north-7", "Hope Shelter")
    add_org(app, "b-2", "Northern Lights Fund")
    add_org(app, "c-3", "Unrelated")
    found = re.findall(r'<tr data-org-id="([^"]+)"', owner_client.get("/organizations?q=NORTH").get_data(as_text=True))
    assert sorted(found) == ["acme-north-7", "b-2"]


def make_month_partitions(app, url, months_back):
    """Monthly partitions for the last months_back months, as a console running that long has."""
    from app.audit_log.partitions import Month, _create, add_months
    from app.extensions import db

    this_month = datetime.now(UTC).date().replace(day=1)
    with app.app_context(), db.engine.connect() as conn:
        for n in range(1, months_back + 1):
            for kind in ("reads", "other"):
                month = Month(kind, add_months(this_month, -n))
                if not sql(url, "SELECT to_regclass(%s)", (f'"{month.table}"',))[0][0]:
                    assert _create(conn, month)


def test_prune_removes_exactly_the_expired_reads_while_writers_go_on(app, runner, databases):
    url = databases["main"]
    make_month_partitions(app, url, 7)
    add_events(url, "org-a", "tenant.read", count=3000, age="200 days", detail="whole month ")  # a dropped partition
    add_events(url, "org-a", "tenant.read", count=3000, age="91 days", detail="past the cut-off ")  # batched delete
    add_events(url, "org-a", "tenant.read", count=40_000, age="400 days", detail="imported ")  # default partition
    add_events(url, "org-a", "tenant.read", count=500, age="89 days", detail="kept read ")
    add_events(url, "org-a", "database.save", count=500, age="500 days", detail="old change ")
    add_events(url, "org-a", "auth.login", count=500, age="200 days", detail="old sign-in ")
    expired = "action = 'tenant.read' AND \"createdAt\" < now() - interval '90 days'"
    kept_before = event_state(url, f"NOT ({expired})")
    assert event_state(url, expired)[0] == 46_000

    dry = runner.invoke(args=["audit", "prune", "--dry-run"])
    assert dry.exit_code == 0 and "would remove 46,000" in dry.output and "nothing was removed" in dry.output
    assert event_state(url, expired)[0] == 46_000

    written, stop = [], threading.Event()

    def writer():
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                for action in ("tenant.read", "database.test"):
                    conn.execute(
                        """INSERT INTO "AuditEvent" ("organizationId", action, detail) VALUES ('org-w', %s, %s)""",
                        (action, f"writer {len(written)}"),
                    )
                    written.append(action)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = runner.invoke(args=["audit", "prune"])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "tenant reads older than 90 days" in result.output and "removed 46,000" in result.output
    assert "monthly partitions dropped" in result.output
    assert "other events: kept forever" in result.output
    assert event_state(url, expired)[0] == 0
    assert event_state(url, f"NOT ({expired}) AND \"organizationId\" = 'org-a'") == kept_before
    assert written and sql(url, """SELECT count(*) FROM "AuditEvent" WHERE "organizationId" = 'org-w'""")[0][0] == len(
        written
    )
    assert sql(url, """SELECT detail FROM "AuditEvent" WHERE action = 'audit.prune'""")[0][0].startswith("tenant reads")

    again = runner.invoke(args=["audit", "prune"])
    assert "removed 0" in again.output


def test_other_events_follow_audit_retention_days_when_set(make_app, databases):
    url = databases["main"]
    app = make_app(AUDIT_RETENTION_DAYS=365, AUDIT_READ_RETENTION_DAYS=30)
    add_events(url, "org-a", "database.save", count=20, age="400 days", detail="too old ")
    add_events(url, "org-a", "database.save", count=5, age="300 days", detail="kept change ")
    add_events(url, "org-a", "tenant.read", count=7, age="31 days", detail="old read ")
    add_events(url, "org-a", "tenant.read", count=3, age="29 days", detail="new read ")
    result = app.test_cli_runner().invoke(args=["audit", "prune"])
    assert "tenant reads older than 30 days" in result.output and "removed 7" in result.output
    assert "other events older than 365 days" in result.output and "removed 20" in result.output
    left = dict(sql(url, """SELECT regexp_replace(detail, ' [0-9]+$', ''), count(*) FROM "AuditEvent" GROUP BY 1"""))
    assert left.get("kept change") == 5 and left.get("new read") == 3
    assert "too old" not in left and "old read" not in left


def test_the_worker_prunes_daily(make_app, databases):
    url = databases["main"]
    store = redis.Redis.from_url("redis://127.0.0.1:6379/13")
    store.flushdb()
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/13")
    add_events(url, "org-a", "tenant.read", count=10, age="100 days")
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "audit prune daily" in result.output
    assert sql(url, """SELECT count(*) FROM "AuditEvent" WHERE action = 'tenant.read'""")[0][0] == 0
    assert sql(url, """SELECT count(*) FROM "AuditEvent" WHERE action = 'audit.prune'""")[0][0] == 1
    scheduled = Queue("tenant-operations", connection=store).scheduled_job_registry
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert scheduled.get_job_ids() == [f"audit-prune-{tomorrow}"]
    when = scheduled.get_scheduled_time(f"audit-prune-{tomorrow}")
    assert timedelta(hours=23) < when.replace(tzinfo=UTC) - datetime.now(UTC) <= timedelta(days=1)
    store.flushdb()


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_retention_settings_refuse_what_is_not_a_number_of_days(monkeypatch, value):
    from config import ConfigError, TestingConfig

    monkeypatch.setenv("AUDIT_READ_RETENTION_DAYS", value)
    with pytest.raises(ConfigError, match="AUDIT_READ_RETENTION_DAYS must be a number of days"):
        TestingConfig()


def test_a_long_reader_is_waited_for_not_queued_behind(app, runner, databases, monkeypatch):
    """A streamed export holds its lock on the audit log: the prune leaves that month for its next
    run rather than queue an exclusive lock (and every writer) behind the reader."""
    from app.audit_log import partitions

    monkeypatch.setattr(partitions, "ATTEMPTS", 2)
    url = databases["main"]
    make_month_partitions(app, url, 7)
    add_events(url, "org-a", "tenant.read", count=100, age="200 days", detail="whole month ")
    with psycopg.connect(url) as reader:
        reader.execute('SELECT count(*) FROM "AuditEvent"').fetchone()  # its transaction stays open
        time.sleep(1.2)
        held = runner.invoke(args=["audit", "prune"])
        assert "removed 0" in held.output and "still locked, left for the next run: AuditEvent_reads_" in held.output
        with psycopg.connect(url, autocommit=True) as writer:
            writer.execute("""INSERT INTO "AuditEvent" (action, detail) VALUES ('tenant.read', 'not queued')""")
    done = runner.invoke(args=["audit", "prune"])
    assert "removed 100" in done.output and "still locked" not in done.output


def test_one_prune_at_a_time_and_one_daily_job(make_app, databases):
    from app.audit_log import retention

    url = databases["main"]
    add_events(url, "org-a", "tenant.read", count=5, age="100 days")
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/13")
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(7341, 2)")  # another prune, or the migration
        busy = app.test_cli_runner().invoke(args=["audit", "prune"])
    assert "another audit prune" in busy.output and "nothing done" in busy.output
    assert event_state(url, "action = 'tenant.read'")[0] == 5
    assert "removed 5" in app.test_cli_runner().invoke(args=["audit", "prune"]).output
    store = redis.Redis.from_url("redis://127.0.0.1:6379/13")
    store.flushdb()
    jobs = Queue("tenant-operations", connection=store)
    for _ in range(3):  # workers started together, or restarted
        retention.schedule(jobs)
    assert jobs.job_ids == [f"audit-prune-{datetime.now(UTC).date()}"]
    store.flushdb()
