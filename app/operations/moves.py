"""`tenants move`: an organization from shared to dedicated and back, verified before the switch."""

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import sqlalchemy.exc
from sqlalchemy.engine import URL

from app import audit
from app.logging_setup import mask_credentials
from app.models import Organization
from app.operations import capture, fences, online
from app.operations.databases import current_database, writable, writable_main
from app.operations.transfer import (
    DEFAULT_BATCH,
    TransferError,
    TransferReport,
    WritableDatabase,
    delete_org_rows,
    other_organizations,
    source_counts,
)
from app.operations.upgrade import upgrade_here
from app.tenancy.schema import read_revision, status_for
from app.tenancy.service import Tenancy
from app.tenancy.targets import DnsFailure
from app.tenancy.urls import InvalidDatabaseUrl, parse_database_url, same_database


@dataclass
class MovePlan:
    org: Organization
    direction: str  # "dedicated" or "shared"
    source: WritableDatabase
    target: WritableDatabase
    target_url: URL
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    already_switched: bool = False


def plan_move(state: Tenancy, org: Organization, to_url: str | None) -> MovePlan:
    main = writable_main(state)
    if to_url is None:  # back to shared mode
        if not org.database_url:
            raise TransferError(f"{org.id} is already in shared mode.")
        try:
            current = state.dedicated_url(org)
        except InvalidDatabaseUrl as exc:
            raise TransferError(f"{org.id}'s stored URL cannot be used: {exc}") from None
        plan = MovePlan(org, "shared", writable(state, current), main, main.url)
    else:
        try:
            url = parse_database_url(to_url, allow_sqlite=False)
            state.policy.check(url)
        except (InvalidDatabaseUrl, DnsFailure) as exc:
            raise TransferError(f"--to: {exc}") from None
        plan = MovePlan(org, "dedicated", main, writable(state, url), url)
        with plan.target.connect() as conn:
            try:
                state.policy.check_identity(conn)  # the main database behind another address
            except InvalidDatabaseUrl as exc:
                raise TransferError(f"--to: {exc}") from None
        if org.database_url:
            current = state.dedicated_url(org)
            if not same_database(current, url):
                raise TransferError(
                    f"{org.id} is already dedicated to {WritableDatabase(current).label}; move it --to-shared first."
                )
            plan.already_switched = True
    plan.counts = source_counts(plan.source, org.id)
    return plan


def prepare_target(plan: MovePlan, dry_run: bool) -> None:
    """Migrate an empty target; refuse one behind or ahead of head, or holding other organizations' rows."""
    if plan.direction == "shared" or plan.already_switched:
        return
    with plan.target.connect() as conn:
        has_tables = conn.execute("SELECT to_regclass('\"Donor\"') IS NOT NULL").fetchone()[0]
        status = status_for(read_revision(conn))
        if status.code == "schema_missing" and not has_tables:
            if dry_run:
                plan.notes.append(f"{plan.target.label} is empty: it would be migrated to head first.")
                return
        elif not status.ok:
            raise TransferError(f"{plan.target.label}: {status.message} {status.hint}")
        else:
            others = other_organizations(conn, plan.org.id)
            if others:
                raise TransferError(
                    f"{plan.target.label} holds rows of other organizations ({', '.join(others)}); "
                    "a dedicated database must hold one organization only."
                )
            return
    result = upgrade_here(plan.target_url, {"connect_timeout": plan.target.connect_timeout, **plan.target.extras})
    if not result.ok:
        raise TransferError(f"migrating {plan.target.label} failed: {result.message}")
    plan.notes.append(f"{plan.target.label} was empty: migrated to head.")


def execute(
    state: Tenancy,
    plan: MovePlan,
    *,
    purge_shared: bool,
    batch: int = DEFAULT_BATCH,
    report: Callable[[online.Progress], None] = lambda p: None,
) -> tuple[TransferReport, online.Progress]:
    org = plan.org
    result, progress = TransferReport(), online.Progress(phase="done")
    if not plan.already_switched:
        result, progress = online.move(
            state, plan, max_pause=state.config["TENANT_MOVE_MAX_PAUSE"], batch=batch, report=report
        )
        audit.record(
            "tenants.move",
            org_id=org.id,
            detail=f"{plan.source.label} -> {plan.target.label}: "
            + ", ".join(f"{t} {n}" for t, n in result.verified.items())
            + f"; writes paused {progress.last_pause_ms} ms"
            + "".join(f"; {warning}" for warning in result.warnings),
        )
    else:  # a re-run that finds the switch done (killed right after it): fenced, capture gone
        with plan.source.connect() as conn:
            fences.install(conn, org.id, plan.target.label)
            capture.stop(conn, org.id)
        with plan.target.connect() as conn:
            conn.autocommit = True
            result.warnings += online.validated_keys(conn, org.id)
    plan.notes += result.warnings
    if purge_shared and plan.direction == "dedicated":
        with plan.source.connect() as conn:
            conn.autocommit = True
            purged = delete_org_rows(conn, org.id, batch=batch)
        audit.record("tenants.purge-shared", org_id=org.id, detail=f"{purged} rows deleted from {plan.source.label}")
        plan.notes.append(f"{purged} rows of {org.id} deleted from the shared database.")
    return result, progress


def abort(
    state: Tenancy, org: Organization, target_text: str | None
) -> tuple[WritableDatabase, WritableDatabase | None, dict]:
    """Undo an unfinished move of org (online.abort); refused for the database its stored URL
    names, whose rows are the organization's own, not half-copied ones."""
    source, _ = current_database(state, org)
    target = writable(state, parse_database_url(target_text, allow_sqlite=False)) if target_text else None
    if target is not None and org.database_url and same_database(state.dedicated_url(org), target.url):
        raise TransferError(f"{target.label} is where {org.id} lives now: there is no unfinished move to it to abort")
    return source, target, online.abort(source, target, org.id)


def describe_failure(exc: Exception) -> str:
    """A failure as a page, a job row or a command may show it: our own errors as they are; a
    database's by its code and the server's first line (SQLAlchemy's text would carry the
    statement's parameters, a URL with its password among them), credentials masked."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, psycopg.Error):
        primary = exc.diag.message_primary
        return f"database error ({exc.sqlstate or exc.__class__.__name__})" + (
            f": {mask_credentials(primary)}" if primary else ""
        )
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        return f"database error ({exc.__class__.__name__})"
    return mask_credentials(str(exc))
