"""flask --app wsgi tenants provision ORG / tenants deprovision ORG [--drop]."""

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from app import audit
from app.cli_failure import CommandFailed
from app.operations import moves, provision
from app.operations.move_command import move_progress
from app.operations.output import find_org
from app.operations.transfer import TransferError
from app.tenancy.service import tenancy
from app.tenancy.urls import mask, parse_database_url

SERVER_HELP = (
    "Maintenance URL of the PostgreSQL server: a role with CREATEDB and CREATEROLE; used for this run only, "
    "never stored (default: TENANT_PROVISION_SERVER_URL)."
)


def server_text(given: str | None) -> str:
    text = given or current_app.config["TENANT_PROVISION_SERVER_URL"]
    if not text:
        raise CommandFailed(
            "give --server URL (a role with CREATEDB and CREATEROLE) or set TENANT_PROVISION_SERVER_URL."
        )
    return text


@click.command("provision")
@with_appcontext
@click.argument("org_id")
@click.option("--server", "server_url", help=SERVER_HELP)
@click.option("--database", help="The new database's name (default: tenant_<organization id>_<digest>).")
@click.option("--connection-limit", type=int, help="The role's CONNECTION LIMIT (TENANT_PROVISION_CONNECTION_LIMIT).")
@click.option("--dry-run", is_flag=True, help="Print the plan; create nothing.")
@click.option("--json", "as_json", is_flag=True)
def provision_command(org_id, server_url, database, connection_limit, dry_run, as_json) -> None:
    """Create a role and a database for ORG, migrate it, move ORG's rows online and switch to it.
    Run it again after a failure to continue; a second run after success does nothing."""
    state, org = tenancy(), find_org(org_id)
    limit = connection_limit or current_app.config["TENANT_PROVISION_CONNECTION_LIMIT"]
    server = server_text(server_url)
    try:
        job = provision.plan(state, org, server, database, limit)
        with move_progress(f"provisioning {org.id}", quiet=as_json) as report:
            provision.run(state, job, dry_run=dry_run, report=report)
    except Exception as exc:  # ours as they are, a database's without its text: never a password
        reason = moves.describe_failure(exc)
        audit.record("tenants.provision", org_id=org.id, outcome="failed", detail=reason)
        raise CommandFailed(f"{reason}; run the command again to continue.") from None
    if not dry_run:
        audit.record("tenants.provision", org_id=org.id, detail=f"{job.label}: " + "; ".join(job.steps))
    summary = {
        "organization": org.id,
        "target": job.label,
        "role": job.role,
        "database": job.database,
        "connectionLimit": job.connection_limit,
        "createDatabaseMs": job.database_ms,
        "steps": job.steps,
        "dryRun": dry_run,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{org.id}: {'would provision' if dry_run else 'provisioned'} {job.label}")
    for step in job.steps:
        click.echo(f"  {step}")


@click.command("deprovision")
@with_appcontext
@click.argument("org_id")
@click.option("--drop", is_flag=True, help="Then drop its database and role (refused when anyone else uses them).")
@click.option("--server", "server_url", help=SERVER_HELP)
@click.option("--database", help="With --drop, for an organization already back in shared mode: its database.")
def deprovision_command(org_id, drop, server_url, database) -> None:
    """Move ORG back to the shared database (online), and with --drop remove its database and role."""
    state, org = tenancy(), find_org(org_id)
    steps = []
    try:
        dedicated = state.dedicated_url(org) if org.database_url else None
        if dedicated is not None:
            plan = moves.plan_move(state, org, None)
            with move_progress(f"moving {org.id} back", quiet=False) as report:
                result, _ = moves.execute(state, plan, purge_shared=False, report=report)
            steps.append(f"moved back to shared: {sum(result.verified.values()):,} rows verified")
        if drop:
            server = parse_database_url(server_text(server_url), allow_sqlite=False)
            name = provision.default_names(org.id)
            target = dedicated or server.set(username=name, password=None, database=database or name)
            if (target.host, target.port) != (server.host, server.port):
                raise TransferError(f"{mask(target)} is not on the --server {mask(server)}; nothing was dropped.")
            steps += provision.drop(state, server, org, target)
    except Exception as exc:  # ours as they are, a database's by its code: never a password
        reason = "; ".join([*steps, moves.describe_failure(exc)])  # a move back that was done stays done: say so
        audit.record("tenants.deprovision", org_id=org.id, outcome="failed", detail=reason)
        raise CommandFailed(reason) from None
    if not steps:
        raise CommandFailed(f"{org.id} is in shared mode already; give --drop to remove its database and role.")
    audit.record("tenants.deprovision", org_id=org.id, detail="; ".join(steps))
    click.echo(f"{org.id}: deprovisioned")
    for step in steps:
        click.echo(f"  {step}")
