"""flask --app wsgi tenants move ORG --to URL | --to-shared [--abort]: the online move from the command line."""

import json
from contextlib import contextmanager

import click
from flask.cli import with_appcontext
from rich.progress import Progress, SpinnerColumn, TextColumn

from app import audit
from app.cli_failure import CommandFailed
from app.operations import moves, online
from app.operations.output import err, find_org
from app.operations.transfer import DEFAULT_BATCH, TransferError
from app.tenancy.service import tenancy
from app.tenancy.urls import InvalidDatabaseUrl


def reporter(bar: Progress, task, quiet: bool):
    """Progress on a terminal; elsewhere (unless quiet) one line on stderr as each phase begins."""
    seen = []

    def report(progress: online.Progress) -> None:
        bar.update(task, description=describe(progress))
        if not (err.is_terminal or quiet) and (not seen or seen[-1] != progress.phase):
            seen.append(progress.phase)
            click.echo(f"phase {progress.phase}: {describe(progress)}", err=True)

    return report


def describe(progress: online.Progress) -> str:
    pause = "" if progress.last_pause_ms is None else f", last pause {progress.last_pause_ms} ms"
    yielding = ", yielding to live traffic" if progress.yielding else ""
    return f"{progress.phase}: {progress.copied:,} rows copied, backlog {progress.backlog:,}{pause}{yielding}"


@click.command("move")
@with_appcontext
@click.argument("org_id")
@click.option("--to", "to_url", help="The dedicated database (postgresql://...).")
@click.option("--to-shared", is_flag=True, help="Back to the shared main database.")
@click.option("--purge-shared", is_flag=True, help="After the switch, delete the rows left in the main database.")
@click.option("--dry-run", is_flag=True, help="Print the plan and row counts; change nothing.")
@click.option("--abort", is_flag=True, help="Undo an unfinished move: capture, half-copied rows (with --to), fence.")
@click.option("--batch", type=click.IntRange(100, 1_000_000), default=DEFAULT_BATCH, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def move_command(org_id, to_url, to_shared, purge_shared, dry_run, abort, batch, as_json) -> None:
    """Move ORG's rows online (the platform keeps writing), verify them, switch its "databaseUrl" and
    fence the old location. Killed at any point, run it again to finish, or --abort."""
    state, org = tenancy(), find_org(org_id)
    if abort:
        return abort_command(state, org, to_url, as_json)
    if bool(to_url) == bool(to_shared):
        raise CommandFailed("give exactly one of --to URL or --to-shared.")
    try:
        plan = moves.plan_move(state, org, None if to_shared else to_url)
        moves.prepare_target(plan, dry_run)
        summary = {
            "organization": org.id,
            "from": plan.source.label,
            "to": plan.target.label,
            "rows": plan.counts,
            "dryRun": dry_run,
            "alreadySwitched": plan.already_switched,
        }
        if not dry_run:
            summary |= run(state, plan, purge_shared, batch, as_json)
        summary["notes"] = plan.notes
    except TransferError as exc:
        audit.record("tenants.move", org_id=org.id, outcome="failed", detail=str(exc))
        raise CommandFailed(str(exc)) from None
    except Exception as exc:  # a database error mid-way: the organization was not switched
        reason = moves.describe_failure(exc)
        audit.record("tenants.move", org_id=org.id, outcome="failed", detail=reason)
        raise CommandFailed(
            f"{reason}; {org.id} was not switched. Run the command again to finish, or --abort."
        ) from None
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    print_summary(plan, summary, dry_run)


@contextmanager
def move_progress(title: str, quiet: bool):
    """A report function for online.Progress: a spinner on a terminal, phase lines otherwise."""
    progress_bar = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True, disable=not err.is_terminal
    )
    with progress_bar as bar:
        yield reporter(bar, bar.add_task(title), quiet)


def run(state, plan, purge_shared: bool, batch: int, as_json: bool) -> dict:
    with move_progress(f"moving {plan.org.id}", quiet=as_json) as report:
        result, progress = moves.execute(state, plan, purge_shared=purge_shared, batch=batch, report=report)
    return {
        "copied": result.tables,
        "restarted": result.restarted,
        "progress": progress.as_dict(),
        "verified": {t: {"count": n} for t, n in result.verified.items()},
    }


def print_summary(plan, summary: dict, dry_run: bool) -> None:
    verb = "would move" if dry_run else ("already moved" if plan.already_switched else "moved")
    click.echo(f"{plan.org.id}: {verb} {plan.source.label} -> {plan.target.label}")
    for table, count in plan.counts.items():
        click.echo(f"  {table}: {count} rows" + ("" if dry_run or plan.already_switched else " (verified)"))
    if "progress" in summary and summary["progress"]["last_pause_ms"] is not None:
        click.echo(
            f"  writes paused {summary['progress']['last_pause_ms']} ms at the switch "
            f"({summary['progress']['cutover_attempts']} attempt(s)); the old location is fenced"
        )
    for note in plan.notes:
        click.echo(f"  {note}")


def abort_command(state, org, to_url: str | None, as_json: bool) -> None:
    try:
        source, target, undone = moves.abort(state, org, to_url)
    except (TransferError, InvalidDatabaseUrl) as exc:
        raise CommandFailed(str(exc)) from None
    audit.record("tenants.move-abort", org_id=org.id, detail=f"{source.label}: {undone}")
    if as_json:
        click.echo(json.dumps(undone))
        return
    click.echo(
        f"{org.id}: move aborted; {source.label} has no capture and no fence"
        + (
            f"; {undone['targetRowsRemoved']} half-copied rows removed from {target.label}"
            if target
            else "; give --to URL as well to remove the half-copied rows from the target"
        )
    )
