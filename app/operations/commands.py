"""flask --app wsgi tenants ...: operate every tenant database from the command line.

Each command shows progress on a terminal and a plain summary otherwise, offers --json,
and exits non-zero when anything failed.
"""

import json
import sys
from pathlib import Path

import click
from cryptography.fernet import InvalidToken
from flask.cli import AppGroup
from sqlalchemy import select

from app import audit
from app.cli_failure import CommandFailed
from app.extensions import db
from app.models import Organization
from app.operations import backups, migrate, status
from app.operations.databases import current_database, writable
from app.operations.move_command import move_command
from app.operations.output import emit, find_org, progress_bar, shown
from app.operations.provision_command import deprovision_command, provision_command
from app.operations.transfer import TransferError
from app.tenancy.service import tenancy
from app.tenancy.urls import InvalidDatabaseUrl, parse_database_url, rotate, seal, storage_kind

tenants = AppGroup("tenants", help="Operate tenant databases: status, migrate, move, provision, backup, restore.")
for command in (move_command, provision_command, deprovision_command):
    tenants.add_command(command)


@tenants.command("status")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def status_command(concurrency: int, as_json: bool) -> None:
    """Every organization: mode, target, reachability, schema, leftovers, shared databases."""
    state = tenancy()
    total = sum(1 for _ in db.session.scalars(select(Organization.id).where(Organization.database_url.is_not(None))))
    with progress_bar("checking databases", total) as advance:
        statuses = status.collect(state, concurrency, advance)
    rows = [s.as_dict() for s in statuses]
    emit(
        rows,
        ["id", "name", "mode", "target", "code", "latency_ms", "revision", "leftovers", "shares_database_with", "move"],
        as_json,
        f"Tenant databases (head {statuses[0].head if statuses else ''})",
    )
    if not as_json:
        for s in statuses:
            if s.shares_database_with:
                click.echo(f"warning: {s.id} shares {s.target} with {', '.join(s.shares_database_with)}", err=True)
            if s.leftovers:
                click.echo(
                    f"note: {s.id} is dedicated but still has {s.leftovers} rows in the shared database "
                    f"(tenants move {s.id} --to <url> --purge-shared removes them)",
                    err=True,
                )
    if any(not s.healthy for s in statuses if s.mode == "dedicated"):
        sys.exit(1)


@tenants.command("migrate")
@click.option("--org", "org_id", help="Only the database of this organization.")
@click.option("--dry-run", is_flag=True, help="Show each database's revision; change nothing.")
@click.option("--concurrency", type=click.IntRange(1, 16), default=4, show_default=True)
@click.option("--no-wait", is_flag=True, help="Fail at once if another tenants migrate is running.")
@click.option("--json", "as_json", is_flag=True)
def migrate_command(org_id: str | None, dry_run: bool, concurrency: int, no_wait: bool, as_json: bool) -> None:
    """Upgrade the main database and every distinct dedicated database to head, one run at a time."""
    state = tenancy()
    orgs = [find_org(org_id)] if org_id else migrate.dedicated_organizations()
    targets, rows = migrate.collect_targets(state, orgs, with_main=not org_id)
    try:
        with migrate.fleet_lock(state, wait=not no_wait), progress_bar("migrating", len(targets)) as advance:
            rows += migrate.migrate_all(state, targets, dry_run=dry_run, concurrency=concurrency, progress=advance)
    except migrate.MigrateLocked as exc:
        raise CommandFailed(str(exc)) from None
    emit(rows, ["database", "organizations", "result", "detail"], as_json, "Migrations")
    if any(row["result"] == "failed" for row in rows):
        sys.exit(1)


@tenants.command("backup")
@click.argument("org_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def backup_command(org_id: str, out: Path, as_json: bool) -> None:
    """A self-contained, restorable export of ORG's rows, from wherever they live."""
    org = find_org(org_id)
    try:
        source, dedicated = current_database(tenancy(), org)
        manifest = backups.backup(source, org.id, org.name, out, dedicated=dedicated)
    except (TransferError, InvalidDatabaseUrl) as exc:
        audit.record("tenants.backup", org_id=org.id, outcome="failed", detail=str(exc))
        raise CommandFailed(str(exc)) from None
    counts = {t: v["count"] for t, v in manifest["tables"].items()}
    audit.record(
        "tenants.backup",
        org_id=org.id,
        detail=f"{manifest['source']} -> {out.name} ({manifest['data']}): {shown(counts)}",
    )
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
        return
    emit([{"table": t, "rows": n} for t, n in counts.items()], ["table", "rows"], False, f"Backup of {org.id}")
    click.echo(f"{org.id}: written to {out} from {manifest['source']} ({manifest['data']})")


@tenants.command("restore")
@click.argument("org_id")
@click.option("--from", "source", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "to_url", help="Restore into this database instead of the organization's current one.")
@click.option("--json", "as_json", is_flag=True)
def restore_command(org_id: str, source: Path, to_url: str | None, as_json: bool) -> None:
    """Load a backup of ORG into its current database (or --to URL), verified against the manifest."""
    org = find_org(org_id)
    state = tenancy()
    try:
        if to_url:
            url = parse_database_url(to_url, allow_sqlite=False)
            state.policy.check(url)
            target = writable(state, url)
        else:
            target, _ = current_database(tenancy(), org)
        states = backups.restore(target, org.id, source)
    except (TransferError, InvalidDatabaseUrl) as exc:
        audit.record("tenants.restore", org_id=org.id, outcome="failed", detail=str(exc))
        raise CommandFailed(str(exc)) from None
    counts = {t: s.count for t, s in states.items()}
    audit.record("tenants.restore", org_id=org.id, detail=f"{source.name} -> {target.label}: {shown(counts)}")
    if as_json:
        click.echo(json.dumps(counts))
        return
    emit([{"table": t, "rows": n} for t, n in counts.items()], ["table", "rows"], False, f"Restore of {org.id}")
    click.echo(f"{org.id}: restored into {target.label} (verified against the manifest)")


@tenants.command("encrypt-urls")
def encrypt_urls() -> None:
    """Encrypt plain "databaseUrl" values and re-encrypt old ones under the newest key."""
    fernet = tenancy().fernet
    if fernet is None:
        raise CommandFailed("TENANT_URL_ENCRYPTION_KEY is not set.")
    counts = {"encrypted": 0, "rotated": 0, "env": 0, "shared": 0, "failed": 0}
    for org in db.session.scalars(select(Organization).order_by(Organization.id)):
        kind = storage_kind(org.database_url)
        try:
            if kind == "plain":
                org.database_url = seal(org.database_url, fernet)
                counts["encrypted"] += 1
            elif kind == "encrypted":
                org.database_url = rotate(org.database_url, fernet)
                counts["rotated"] += 1
            else:
                counts["env" if kind == "env" else "shared"] += 1
        except InvalidToken:  # an undecryptable row is reported and left as it was
            counts["failed"] += 1
            click.echo(f"error: {org.id}: its URL cannot be decrypted with any configured key", err=True)
    db.session.commit()
    click.echo(" ".join(f"{name}={count}" for name, count in counts.items()))
    audit.record("tenants.encrypt-urls", detail=str(counts))
    if counts["failed"]:
        sys.exit(1)
