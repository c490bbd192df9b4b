"""Audit retention: tenant reads are kept AUDIT_READ_RETENTION_DAYS (90), every other event
AUDIT_RETENTION_DAYS (empty: forever).

On PostgreSQL, months entirely past the cut-off are dropped whole (a partition's DROP
holds its lock for a moment, under a lock timeout, retried); the expired rows of the month
that straddles the cut-off and of the default partition are deleted in batches by id, each
batch its own transaction. Writers only insert, so they never wait on those deletes. On
SQLite the same batched deletes run on the table. `flask --app wsgi audit prune` runs it;
the worker runs daily() once a day.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from rq.job import Job
from sqlalchemy import Connection, text

from app.audit import READ
from app.audit_log.partitions import ensure_ahead, is_partitioned, months, run_ddl
from app.extensions import db

BATCH = 10_000  # ids per delete: a short transaction however many rows expire
KIND_FILTER = {"reads": f"action = '{READ}'", "other": f"action <> '{READ}'"}
KIND_LABEL = {"reads": "tenant reads", "other": "other events"}
KIND_SETTING = {"reads": "AUDIT_READ_RETENTION_DAYS", "other": "AUDIT_RETENTION_DAYS"}


@dataclass
class Pruned:
    kind: str
    days: int | None
    cutoff: datetime | None = None
    rows: int = 0
    dropped: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # partitions still locked after every attempt

    def line(self, dry_run: bool) -> str:
        label = KIND_LABEL[self.kind]
        if self.days is None:
            return f"{label}: kept forever ({KIND_SETTING[self.kind]} is empty)"
        verb = "would remove" if dry_run else "removed"
        line = f"{label} older than {self.days} days (before {self.cutoff:%Y-%m-%d %H:%M} UTC): {verb} {self.rows:,}"
        if self.dropped:
            line += f" ({len(self.dropped)} monthly partitions {'to drop' if dry_run else 'dropped'})"
        if self.left:
            line += f"; still locked, left for the next run: {', '.join(self.left)}"
        return line


@dataclass
class PruneReport:
    dry_run: bool
    results: list[Pruned]
    created: list[str]
    busy: bool = False  # another prune (or the partitioning migration) holds the lock: nothing done

    def lines(self) -> list[str]:
        if self.busy:
            return ["another audit prune (or the audit partitioning migration) is running: nothing done"]
        lines = [result.line(self.dry_run) for result in self.results]
        if self.created:
            lines.append(f"partitions created ahead: {', '.join(self.created)}")
        return lines


def prune(dry_run: bool = False, now: datetime | None = None) -> PruneReport:
    """Apply the configured policy to the main database's audit log."""
    now = now or datetime.now(UTC)
    config = current_app.config
    policy = {"reads": config["AUDIT_READ_RETENTION_DAYS"], "other": config["AUDIT_RETENTION_DAYS"]}
    with db.engine.connect() as conn:
        if not _prune_lock(conn, "pg_try_advisory_lock"):
            return PruneReport(dry_run, [], [], busy=True)
        try:
            partitioned = is_partitioned(conn)
            created = ensure_ahead(conn, now) if partitioned and not dry_run else []
            results = []
            for kind, days in policy.items():
                result = Pruned(kind, days, now - timedelta(days=days) if days else None)
                if days:
                    (_prune_partitions if partitioned else _prune_table)(conn, result, dry_run)
                results.append(result)
            conn.commit()
        finally:
            conn.rollback()
            _prune_lock(conn, "pg_advisory_unlock")  # a session lock: not left on a pooled connection
    return PruneReport(dry_run, results, created)


def _prune_lock(conn: Connection, function: str) -> bool:
    """One prune at a time, and none while the migration copies the table (the same lock,
    e8f1a3c5d7b9). function: pg_try_advisory_lock or pg_advisory_unlock."""
    if conn.dialect.name != "postgresql":
        return True
    done = conn.scalar(text(f"SELECT {function}(7341, 2)"))
    conn.commit()
    return bool(done)


def _prune_partitions(conn: Connection, result: Pruned, dry_run: bool) -> None:
    for month in months(conn, result.kind):
        if month.ends_before(result.cutoff):
            if result.left:  # a drop found the tables held through every attempt: the next would too
                result.left.append(month.table)
                continue
            count = conn.scalar(text(f'SELECT count(*) FROM "{month.table}"'))
            if dry_run or run_ddl(conn, f'DROP TABLE "{month.table}"', [month.table, f"AuditEvent_{month.kind}"]):
                result.rows += count
                result.dropped.append(month.table)
            else:
                result.left.append(month.table)
        elif month.start < result.cutoff.date():
            result.rows += _delete_expired(conn, f'"{month.table}"', result, dry_run)
    result.rows += _delete_expired(conn, f'"AuditEvent_{result.kind}_default"', result, dry_run)


def _prune_table(conn: Connection, result: Pruned, dry_run: bool) -> None:
    result.rows += _delete_expired(conn, '"AuditEvent"', result, dry_run)


def _delete_expired(conn: Connection, table: str, result: Pruned, dry_run: bool) -> int:
    where = f'{KIND_FILTER[result.kind]} AND "createdAt" < :cutoff'
    # SQLite keeps timestamps as text in UTC; PostgreSQL compares timestamptz.
    cutoff = result.cutoff if conn.dialect.name == "postgresql" else f"{result.cutoff:%Y-%m-%d %H:%M:%S}"
    low, high, count = conn.execute(
        text(f"SELECT min(id), max(id), count(*) FROM {table} WHERE {where}"), {"cutoff": cutoff}
    ).one()
    conn.commit()
    if dry_run or not count:
        return count
    removed = 0
    for start in range(low, high + 1, BATCH):
        removed += conn.execute(
            text(f"DELETE FROM {table} WHERE id >= :start AND id < :end AND {where}"),
            {"start": start, "end": start + BATCH, "cutoff": cutoff},
        ).rowcount
        conn.commit()
    return removed


def daily() -> None:
    """The worker's daily run (an RQ job): prune, record it, and schedule tomorrow's, whatever happened."""
    from app import audit
    from app.operations.jobs import queue

    try:
        report = prune()
        audit.record("audit.prune", detail="; ".join(report.lines()))
    except Exception as exc:  # audited; tomorrow's run is scheduled all the same
        db.session.rollback()
        audit.record("audit.prune", outcome="failed", detail=exc.__class__.__name__)
        raise
    finally:
        schedule(queue(), datetime.now(UTC) + timedelta(days=1))


def schedule(jobs, when: datetime | None = None) -> None:
    """Queue the prune of when's day (now: at once). One job id per day: workers started
    together, or restarted, schedule that day's prune once."""
    day = (when or datetime.now(UTC)).date()
    job_id = f"audit-prune-{day}"
    if Job.exists(job_id, connection=jobs.connection):  # queued, scheduled or done today already
        return
    if when is None:
        jobs.enqueue(daily, job_id=job_id, job_timeout=6 * 3600)
    else:
        jobs.enqueue_at(when, daily, job_id=job_id, job_timeout=6 * 3600)
