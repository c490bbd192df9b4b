"""flask --app wsgi audit prune: the audit log's retention policy, applied now."""

import click
from flask.cli import with_appcontext

from app import audit
from app.audit_log import retention


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what the policy would remove; remove nothing.")
@with_appcontext
def prune_command(dry_run: bool) -> None:
    """Remove tenant reads older than AUDIT_READ_RETENTION_DAYS, and other events older than
    AUDIT_RETENTION_DAYS when it is set."""
    report = retention.prune(dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was removed")
    else:
        audit.record("audit.prune", detail="; ".join(report.lines()))
