"""tenants status / migrate / move / backup / restore against real PostgreSQL databases."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.helpers import add_org, sql
from tests.operations.conftest import states, stored_url
from tests.pgserver import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_move_there_and_back_keeps_every_row(app, runner, databases, new_database, loaded):
    target = new_database("movetarget", migrated=False)  # empty: migrated by the move
    dry = runner.invoke(args=["tenants", "move", "org-m", "--to", target, "--dry-run"])
    assert dry.exit_code == 0 and "would move" in dry.output and "Donor: 400 rows" in dry.output
    assert stored_url(databases, "org-m") is None and "would be migrated" in dry.output

    there = runner.invoke(args=["tenants", "move", "org-m", "--to", target, "--purge-shared", "--batch", "150"])
    assert there.exit_code == 0, there.output
    assert stored_url(databases, "org-m") == target
    assert states(target, "org-m") == loaded
    assert all(s.count == 0 for s in states(databases["main"], "org-m").values())  # purged after verification

    back = runner.invoke(args=["tenants", "move", "org-m", "--to-shared", "--json"])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output)["verified"]["Donor"]["count"] == 400
    assert stored_url(databases, "org-m") is None
    assert states(databases["main"], "org-m") == loaded
    events = sql(
        databases["main"],
        """SELECT action, outcome FROM "AuditEvent" WHERE "organizationId" = 'org-m'
                                       ORDER BY id""",
    )
    assert ("tenants.move", "ok") in events and ("tenants.purge-shared", "ok") in events


def flask(args, databases, **env):
    full_env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": databases["main"], **env}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_move_killed_mid_copy_then_rerun_finishes_exactly(app, runner, databases, new_database, loaded):
    target = new_database("killed")
    process = flask(["tenants", "move", "org-m", "--to", target, "--batch", "100"], databases)
    copied = lambda: sql(target, """SELECT count(*) FROM "Donation" WHERE "organizationId" = 'org-m'""")[0][0]
    assert wait_for(lambda: copied() > 0, timeout=60, step=0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = copied()
    assert 0 < partial < loaded["Donation"].count, "the kill should land mid-copy"
    assert stored_url(databases, "org-m") is None  # not switched
    # Rows of the source change before the re-run: the copy notices and redoes what no longer matches.
    sql(
        databases["main"],
        """UPDATE "Donor" SET "lastName" = 'Changed' WHERE id = (SELECT min(id) FROM "Donor"
                              WHERE "organizationId" = 'org-m')""",
    )
    rerun = runner.invoke(args=["tenants", "move", "org-m", "--to", target])
    assert rerun.exit_code == 0, rerun.output
    assert states(target, "org-m") == states(databases["main"], "org-m")
    assert stored_url(databases, "org-m") == target


def test_target_holding_another_organizations_rows_is_refused(app, runner, databases, loaded):
    sql(
        databases["tenant_b"],
        """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName")
                                  VALUES ('x1', 'org-other', 'O', 'Ther')""",
    )
    result = runner.invoke(args=["tenants", "move", "org-m", "--to", databases["tenant_b"]])
    assert result.exit_code == 1 and "holds rows of other organizations (org-other)" in result.output
    assert stored_url(databases, "org-m") is None
    assert states(databases["tenant_b"], "org-m")["Donor"].count == 0


def test_target_behind_head_is_refused(app, runner, databases, new_database, loaded):
    behind = new_database("behind")
    sql(behind, "UPDATE alembic_version SET version_num = 'c4e4aa56de15'")
    result = runner.invoke(args=["tenants", "move", "org-m", "--to", behind])
    assert result.exit_code == 1 and "behind head" in result.output and "db upgrade" in result.output


def test_move_refuses_forbidden_targets(app, runner, databases, loaded):
    for bad in (databases["main"], "postgresql://u:p@169.254.169.254/x", "mysql://u:p@127.0.0.1/x"):
        result = runner.invoke(args=["tenants", "move", "org-m", "--to", bad])
        assert result.exit_code == 1 and "error:" in result.output
    assert stored_url(databases, "org-m") is None


def test_migrate_reports_an_unreachable_database_and_upgrades_the_others(app, runner, databases, new_database):
    empty = new_database("tomigrate", migrated=False)
    add_org(app, "org-empty", database_url=empty)
    add_org(app, "org-dead", database_url=f"postgresql://u:Canary7x@127.0.0.1:{free_port()}/gone")
    dry = runner.invoke(args=["tenants", "migrate", "--dry-run", "--json"])
    assert {r["organizations"]: r["result"] for r in json.loads(dry.output)}["org-empty"] == "schema_missing"
    result = runner.invoke(args=["tenants", "migrate", "--json", "--concurrency", "2"])
    assert result.exit_code == 1
    rows = {r["organizations"]: r for r in json.loads(result.output)}
    assert rows["org-empty"]["result"] == "upgraded" and rows["org-dead"]["result"] == "failed"
    assert rows[""]["result"] == "upgraded"  # the main database
    assert "Canary7x" not in result.output
    from app.tenancy.schema import head_revision

    assert sql(empty, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    again = runner.invoke(args=["tenants", "migrate", "--org", "org-empty"])
    assert again.exit_code == 0


def test_backup_then_restore_leaves_the_data_equal(app, runner, databases, new_database, loaded, tmp_path):
    archive = tmp_path / "org-m.tar"
    result = runner.invoke(args=["tenants", "backup", "org-m", "--out", str(archive)])
    assert result.exit_code == 0, result.output and "(copy)" in result.output
    fresh = new_database("restored")
    result = runner.invoke(args=["tenants", "restore", "org-m", "--from", str(archive), "--to", fresh])
    assert result.exit_code == 0, result.output
    assert states(fresh, "org-m") == loaded
    again = runner.invoke(args=["tenants", "restore", "org-m", "--from", str(archive), "--to", fresh])
    assert again.exit_code == 1 and "already holds rows" in again.output
    assert states(fresh, "org-m") == loaded


def test_backup_of_a_dedicated_organization_uses_pg_dump(make_app, databases, new_database, tmp_path):
    app = make_app(ENABLE_MULTI_DATABASE=True)
    runner = app.test_cli_runner()
    dedicated = new_database("dedicated")
    add_org(app, "org-d", database_url=dedicated)
    assert (
        runner.invoke(args=["demo-data", "--donors", "150", "--org", "org-d", "--database-url", dedicated]).exit_code
        == 0
    )
    expected = states(dedicated, "org-d")
    archive = tmp_path / "org-d.tar"
    result = runner.invoke(args=["tenants", "backup", "org-d", "--out", str(archive)])
    assert result.exit_code == 0 and "(pg_dump)" in result.output, result.output
    fresh = new_database("restored_dump")
    result = runner.invoke(args=["tenants", "restore", "org-d", "--from", str(archive), "--to", fresh])
    assert result.exit_code == 0, result.output
    assert states(fresh, "org-d") == expected


def test_status_reports_modes_reachability_leftovers_and_shared_databases(make_app, databases):
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_CONNECT_TIMEOUT=2)
    add_org(app, "org-a", database_url=databases["tenant_a"])
    add_org(app, "org-c", database_url=databases["tenant_a"])
    add_org(app, "org-s")
    add_org(app, "org-x", database_url=f"postgresql://u:p@127.0.0.1:{free_port()}/x")
    sql(
        databases["main"],
        """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName")
                              VALUES ('left-1', 'org-a', 'L', 'Eft')""",
    )
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["tenants", "status", "--json"])
    assert time.monotonic() - started < 2 * 2
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert result.exit_code == 1  # org-x is unreachable
    assert rows["org-a"]["code"] == "ok" and rows["org-a"]["leftovers"] == 1
    assert rows["org-a"]["shares_database_with"] == ["org-c"]
    assert rows["org-s"]["mode"] == "shared" and rows["org-x"]["code"] == "refused"
    assert rows["org-x"]["reachable"] is False


def test_organization_page_shows_latest_move_migrate_and_backup(
    app, runner, client, databases, new_database, loaded, tmp_path
):
    from tests.helpers import add_admin, login

    target = new_database("pagemove")
    assert runner.invoke(args=["tenants", "move", "org-m", "--to", target]).exit_code == 0
    assert runner.invoke(args=["tenants", "backup", "org-m", "--out", str(tmp_path / "b.tar")]).exit_code == 0
    add_admin(app, "owner@example.org")
    login(client, "owner@example.org")
    page = client.get("/organizations/org-m").get_data(as_text=True)
    operations = page[page.index('data-testid="operations"') : page.index("Recent activity")]
    assert "Latest move" in operations and "-&gt; postgres@127.0.0.1:5432/" in operations
    assert "b.tar" in operations and operations.count(">never<") == 1  # no migrate yet


def test_one_tenants_migrate_at_a_time(app, runner, databases, pgbouncer):
    import threading

    holder = psycopg.connect(databases["main"], autocommit=True, application_name="tenants-migrate")
    holder.execute("SELECT pg_advisory_lock(7341, 1)")  # another run holds the fleet lock
    try:
        refused = runner.invoke(args=["tenants", "migrate", "--no-wait"])
        assert refused.exit_code == 1 and "another tenants migrate is running (tenants-migrate pid" in refused.output
        threading.Timer(1.0, lambda: holder.execute("SELECT pg_advisory_unlock(7341, 1)")).start()
        started = time.monotonic()
        waited = runner.invoke(args=["tenants", "migrate"])
        assert waited.exit_code == 0, waited.output
        assert time.monotonic() - started >= 1.0  # it waited for the other run
    finally:
        holder.close()
    add_org(app, "org-pooled", database_url=pgbouncer.url(databases["tenant_a"].rsplit("/", 1)[1]))
    pooled = runner.invoke(args=["tenants", "migrate", "--org", "org-pooled"])
    assert pooled.exit_code == 1 and "need a direct connection" in pooled.output


def test_rows_pointing_at_another_organization_stop_the_move_before_anything(app, runner, databases, loaded):
    add_org(app, "org-other", "Other")
    sql(
        databases["main"],
        """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName")
           VALUES ('o-1', 'org-other', 'O', 'Ther')""",
    )
    sql(
        databases["main"],
        """INSERT INTO "Donation" (id, "organizationId", "donorId", amount, date)
           VALUES ('x-1', 'org-m', 'o-1', 5, '2026-01-01')""",
    )
    result = runner.invoke(args=["tenants", "move", "org-m", "--to", databases["tenant_a"]])
    assert result.exit_code == 1, result.output
    assert "1 Donation rows point at another organization's Donor (donorId)" in result.output
    assert sql(databases["tenant_a"], 'SELECT count(*) FROM "Donor"') == [(0,)]
    assert stored_url(databases, "org-m") is None
    assert not sql(databases["main"], 'SELECT 1 FROM "TenantCapture"')


def test_abort_refuses_the_database_the_organization_lives_in(app, runner, databases, loaded):
    assert runner.invoke(args=["tenants", "move", "org-m", "--to", databases["tenant_a"]]).exit_code == 0
    refused = runner.invoke(args=["tenants", "move", "org-m", "--abort", "--to", databases["tenant_a"]])
    assert refused.exit_code == 1 and "is where org-m lives now" in refused.output
    assert states(databases["tenant_a"], "org-m") == loaded  # nothing deleted


def test_command_output_reads_as_tables_and_words(app, runner, databases, loaded, tmp_path):
    backup = runner.invoke(args=["tenants", "backup", "org-m", "--out", str(tmp_path / "m.tar")])
    assert backup.exit_code == 0, backup.output
    lines = backup.output.splitlines()
    assert lines[0] == "table\trows" and f"Donor\t{loaded['Donor'].count}" in lines
    assert "{" not in backup.output and "written to" in lines[-1]
    status = runner.invoke(args=["tenants", "status"])
    assert "[]" not in status.output and "None" not in status.output
    dry = runner.invoke(args=["tenants", "migrate", "--dry-run"])
    assert "dry run: without --dry-run this command upgrades it too" in dry.output
    from types import SimpleNamespace

    from sqlalchemy.engine import make_url

    from app.operations.databases import writable_main
    from app.operations.transfer import TransferError

    with pytest.raises(TransferError, match="DATABASE_URL=postgresql://user:password@host:5432/console make run"):
        writable_main(SimpleNamespace(main_url=make_url("sqlite:///console.db")))
