"""Moves started from the console: a job row in the main database, run by the RQ worker.

A page never waits for a move. It records a job ("OperationJob": what, where to, the target
URL sealed like "databaseUrl", never put in Redis), puts the job's id on the
tenant-operations queue of REDIS_URL, and shows the row, which the worker keeps up to date
as the move goes (phase, rows copied, backlog, last pause). `flask --app wsgi worker` runs
the queue; every start, switch, abort and failure is audited.
"""

import time
import uuid

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from redis import Redis
from rq import Queue, SimpleWorker

from app import audit
from app.audit_log import retention
from app.cli_failure import CommandFailed
from app.command_hint import flask_command
from app.extensions import db
from app.models import OperationJob, Organization
from app.operations import moves, online, provision
from app.operations.transfer import TransferError
from app.tenancy.service import tenancy
from app.tenancy.urls import mask, parse_database_url, render, resolve_stored, seal

QUEUE = "tenant-operations"
ACTIVE = ("queued", "running")
REPORT_EVERY = 0.5  # seconds between progress writes to the job row


class JobsUnavailable(Exception):
    """No REDIS_URL: nothing would run the job."""


def queue() -> Queue:
    url = current_app.config["REDIS_URL"]
    if not url:
        raise JobsUnavailable(
            _l(
                "Moves from the console need REDIS_URL and a worker (%(worker)s); or run %(move)s on the command line.",
                worker=flask_command("worker"),
                move=flask_command("tenants move"),
            )
        )
    return Queue(QUEUE, connection=Redis.from_url(url))


def latest(org_id: str) -> OperationJob | None:
    return db.session.scalars(
        db.select(OperationJob).where(OperationJob.organization_id == org_id).order_by(OperationJob.created_at.desc())
    ).first()


def start(org: Organization, kind: str, target_text: str | None, actor_email: str | None) -> OperationJob:
    """Queue a move (target_text None: back to shared) or an abort. Raises InvalidDatabaseUrl,
    DnsFailure or JobsUnavailable; nothing is recorded then."""
    jobs = queue()
    state = tenancy()
    url = parse_database_url(target_text, allow_sqlite=False) if target_text else None
    if url is not None:
        state.policy.check(url)
    label = mask(url) if url else "shared"
    if kind == "provision":
        server = current_app.config["TENANT_PROVISION_SERVER_URL"]
        if not server:
            raise JobsUnavailable(_l("Provisioning from the console needs TENANT_PROVISION_SERVER_URL."))
        label = f"a new database on {mask(parse_database_url(server, allow_sqlite=False))}"
    running = latest(org.id)
    if kind != "abort" and running is not None and running.state in ACTIVE:
        raise TransferError(
            _l("A %(kind)s of %(org)s is already %(state)s.", kind=running.kind, org=org.id, state=running.state)
        )
    job = OperationJob(
        id=uuid.uuid4().hex,
        organization_id=org.id,
        kind=kind,
        actor_email=actor_email,
        target=seal(render(url), state.fernet) if url else None,
        target_label=label,
    )
    db.session.add(job)
    db.session.commit()
    jobs.enqueue("app.operations.jobs.run", job.id, job_id=job.id, job_timeout=24 * 3600)
    audit.record(f"tenants.{kind}-queued", org_id=org.id, detail=f"job {job.id}: to {job.target_label}")
    return job


def run(job_id: str) -> None:
    """The worker's side: carry out the job and keep its row up to date."""
    job = db.session.get(OperationJob, job_id)
    org = db.session.get(Organization, job.organization_id)
    state = tenancy()
    job.state = "running"
    db.session.commit()
    target = resolve_stored(job.target, state.fernet) if job.target else None
    try:
        if job.kind == "move":
            job.message = _move(state, org, job, target)
        elif job.kind == "provision":
            job.message = _provision(state, org, job)
        else:
            _, _, undone = moves.abort(state, org, target)
            job.message = f"aborted: {undone}"
            audit.record("tenants.move-abort", org_id=org.id, detail=f"job {job.id}: {job.message}")
        job.state = "done"
    except Exception as exc:  # a failed job is a row that says so, never a dead worker
        job.state = "failed"
        reason = moves.describe_failure(exc)  # our own errors as they are; driver errors without their text
        job.message = f"{reason}; nothing was switched unless the phase says done"
        audit.record(f"tenants.{job.kind}", org_id=org.id, outcome="failed", detail=f"job {job.id}: {reason}")
    finally:
        db.session.commit()
        db.session.remove()


def _reporter(job: OperationJob):
    """Keeps the job row up to date with the move's progress (each phase, then every REPORT_EVERY)."""
    last = [0.0]

    def report(progress: online.Progress) -> None:
        if progress.phase != job.phase or time.monotonic() - last[0] >= REPORT_EVERY:
            job.phase, job.copied, job.backlog = progress.phase, progress.copied, progress.backlog
            job.last_pause_ms = progress.last_pause_ms
            db.session.commit()
            last[0] = time.monotonic()

    return report


def _move(state, org, job: OperationJob, target: str | None) -> str:
    plan = moves.plan_move(state, org, target)
    moves.prepare_target(plan, dry_run=False)
    result, progress = moves.execute(state, plan, purge_shared=False, report=_reporter(job))
    job.phase, job.last_pause_ms = "done", progress.last_pause_ms
    message = f"moved to {plan.target.label}; writes paused {progress.last_pause_ms} ms at the switch"
    return "; ".join([message, *result.warnings])


def _provision(state, org, job: OperationJob) -> str:
    config = current_app.config
    plan = provision.plan(
        state, org, config["TENANT_PROVISION_SERVER_URL"], None, config["TENANT_PROVISION_CONNECTION_LIMIT"]
    )
    provision.run(state, plan, report=_reporter(job))
    job.phase = "done"
    audit.record("tenants.provision", org_id=org.id, detail=f"job {job.id}: {plan.label}: " + "; ".join(plan.steps))
    return f"provisioned {plan.label}: " + "; ".join(plan.steps)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then stop.")
def worker_command(burst: bool) -> None:
    """Run the moves started from the console (the tenant-operations queue of REDIS_URL) and the daily audit prune."""
    try:
        jobs = queue()
    except JobsUnavailable as exc:
        raise CommandFailed(str(exc)) from None
    click.echo(f"worker: running {QUEUE} jobs from {mask(current_app.config['REDIS_URL'])}; audit prune daily")
    retention.schedule(jobs)  # today's prune now; each run schedules the next day's
    SimpleWorker([jobs], connection=jobs.connection).work(burst=burst, with_scheduler=not burst)
