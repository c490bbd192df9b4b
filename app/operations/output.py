"""What the tenants commands share: the organization named, tables and JSON, progress on a terminal."""

import json
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from app.cli_failure import CommandFailed
from app.extensions import db
from app.models import Organization

err = Console(stderr=True)


def emit(rows: list[dict], columns: list[str], as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    cells = [[shown(row.get(c)) for c in columns] for row in rows]
    console = Console()
    if console.is_terminal:
        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")  # a narrow terminal wraps a URL, never cuts its end off
        for line in cells:
            table.add_row(*line)
        console.print(table)
        return
    for line in [columns, *cells]:
        click.echo("\t".join(line))


def shown(value) -> str:
    """A cell as an operator reads it: no None, no [] or Python list, no dict."""
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


@contextmanager
def progress_bar(description: str, total: int | None):
    """A rich progress bar on a terminal; nothing otherwise (the summary follows anyway)."""
    if not err.is_terminal:
        yield lambda n=1: None
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def find_org(org_id: str) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise CommandFailed(f"organization {org_id} not found.")
    return org
