"""`tenants migrate`: the main database and every distinct dedicated database to head.

Each database is upgraded once, however many organizations share it, several at a time;
one failure does not stop the others, and every organization gets an audit row.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import URL

from app import audit
from app.extensions import db
from app.models import Organization
from app.operations.databases import DIRECT_NEEDED
from app.operations.upgrade import upgrade_database
from app.tenancy.service import Tenancy
from app.tenancy.urls import InvalidDatabaseUrl, behind_pooler, connect_params, mask, render


@dataclass
class MigrateTarget:
    url: URL
    label: str
    orgs: list[str] = field(default_factory=list)  # empty for the main database


def collect_targets(state: Tenancy, orgs: list[Organization], with_main: bool) -> tuple[list[MigrateTarget], list]:
    """The distinct databases to migrate, and a failed result row for each unusable stored URL."""
    targets: dict[str, MigrateTarget] = {}
    if with_main:
        targets[render(state.main_url)] = MigrateTarget(state.main_url, "main database")
    unusable = []
    for org in orgs:
        if not org.database_url:
            continue
        try:
            url = state.dedicated_url(org)
        except InvalidDatabaseUrl as exc:
            unusable.append(
                {"database": f"({org.id})", "organizations": org.id, "result": "failed", "detail": str(exc)}
            )
            continue
        targets.setdefault(render(url), MigrateTarget(url, mask(url))).orgs.append(org.id)
    return list(targets.values()), unusable


MIGRATE_LOCK = (7341, 1)  # the advisory lock that one tenants migrate at a time holds on the main database


@contextmanager
def fleet_lock(state: Tenancy, wait: bool):
    """Held on a direct connection to the main database for the whole run: a second run waits
    (or, without wait, fails at once saying who holds it). SQLite main databases have no such lock."""
    if state.main_url.get_backend_name() != "postgresql":
        yield
        return
    with psycopg.connect(**connect_params(state.main_url, application_name="tenants-migrate"), autocommit=True) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATE_LOCK)
        elif not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", MIGRATE_LOCK).fetchone()[0]:
            holder = conn.execute(HOLDER, MIGRATE_LOCK).fetchone()
            raise MigrateLocked(
                f"another tenants migrate is running ({holder[0] or 'unknown'}, since {holder[1]})"
                if holder
                else "another tenants migrate is running"
            )
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATE_LOCK)


class MigrateLocked(Exception):
    pass


HOLDER = """SELECT coalesce(a.application_name, '') || ' pid ' || a.pid || coalesce(' from ' || a.client_addr, ''),
                  date_trunc('second', a.backend_start)
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.granted"""


def dedicated_organizations() -> list[Organization]:
    return db.session.scalars(select(Organization).where(Organization.database_url.is_not(None))).all()


def migrate_one(state: Tenancy, target: MigrateTarget, dry_run: bool) -> dict:
    row = {"database": target.label, "organizations": ", ".join(target.orgs)}
    if behind_pooler(target.url):  # its locks and session settings would not hold through the pooler
        row["result"], row["detail"] = "failed", DIRECT_NEEDED
        return row
    if dry_run:
        probe = state.probe(target.url) if target.orgs else None
        row["result"] = "at head" if probe is None or probe.ok else probe.code
        row["detail"] = probe.message if probe else "dry run: without --dry-run this command upgrades it too"
        return row
    result = upgrade_database(target.url)
    row["result"], row["detail"] = ("upgraded" if result.ok else "failed"), result.message
    return row


def migrate_all(
    state: Tenancy, targets: list[MigrateTarget], *, dry_run: bool, concurrency: int, progress: Callable = lambda: None
) -> list[dict]:
    def run(target: MigrateTarget) -> dict:
        row = migrate_one(state, target, dry_run)
        progress()
        return row

    with ThreadPoolExecutor(concurrency) as pool:
        rows = list(pool.map(run, targets))
    if not dry_run:
        for target, row in zip(targets, rows):
            for org_id in target.orgs:
                outcome = "ok" if row["result"] == "upgraded" else "failed"
                detail = f"{row['database']}: {row['detail']}"
                audit.record("tenants.migrate", org_id=org_id, outcome=outcome, detail=detail, commit=False)
        db.session.commit()
    return rows
