"""`tenants status`: every organization's database, checked concurrently and within bounds.

Each distinct target is probed once, at most `concurrency` at a time, each within the
connect timeout; a server that refused or timed out is not asked again for the other
databases it holds, so hundreds of organizations behind one dead server cost one timeout.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import psycopg
from sqlalchemy import func, select

from app.extensions import db
from app.models import TENANT_MODELS, OperationJob, Organization
from app.operations import fleet
from app.tenancy.probe import PROBE_STATEMENT_TIMEOUT_MS, ProbeResult
from app.tenancy.schema import head_revision
from app.tenancy.service import Tenancy
from app.tenancy.urls import InvalidDatabaseUrl, connect_params, for_driver, mask, render

SERVER_FAILURES = {"refused", "timeout", "dns_failure", "ssl_failed"}


@dataclass
class OrgStatus:
    id: str
    name: str
    mode: str  # shared | dedicated | inactive (dedicated URL, multi-database off)
    target: str = fleet.MAIN_TARGET
    storage: str = "none"
    reachable: bool | None = None
    latency_ms: float | None = None
    code: str | None = None
    message: str = ""
    revision: str | None = None
    head: str = ""
    leftovers: int = 0
    shares_database_with: list[str] = field(default_factory=list)
    move: str | None = None  # a move started from the console, queued or running
    donors: int | None = None
    database: dict = field(default_factory=dict)  # the health of the database serving it (app/operations/fleet.py)

    @property
    def healthy(self) -> bool:
        return self.mode == "shared" or self.code == "ok"

    def as_dict(self) -> dict:
        return asdict(self) | {"healthy": self.healthy}


class ServerGate:
    """Remembers servers that failed at the network level, so their other databases are not retried."""

    def __init__(self):
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._dead: dict[tuple, ProbeResult] = {}
        self._alive: set[tuple] = set()

    def probe(self, state: Tenancy, url, inspect=None) -> ProbeResult:
        server = ((url.host or "").lower(), url.port or 5432)
        with self._lock:
            server_lock = self._locks.setdefault(server, threading.Lock())
        with server_lock:  # the first probe of a server tells whether it answers at all
            if server in self._dead:
                return self._dead[server]
            if server not in self._alive:
                result = state.probe(url, inspect)
                if result.code in SERVER_FAILURES:
                    self._dead[server] = result
                else:
                    self._alive.add(server)
                return result
        return state.probe(url, inspect)


def collect(state: Tenancy, concurrency: int = 8, progress=lambda: None, scope=()) -> list[OrgStatus]:
    """Every organization (those of scope, when given), the database serving each tested once."""
    stmt = select(Organization).order_by(Organization.name, Organization.id)
    orgs = db.session.scalars(stmt.where(Organization.id.in_(scope)) if scope else stmt).all()
    head = head_revision()
    statuses, urls = [], {}
    for org in orgs:
        status = OrgStatus(org.id, org.name, "shared", head=head)
        statuses.append(status)
        if not org.database_url:
            continue
        status.mode = "dedicated" if state.uses_dedicated(org) else "inactive"
        status.storage = state.describe(org).kind
        try:
            url = state.dedicated_url(org)
        except InvalidDatabaseUrl as exc:
            status.code, status.message, status.reachable = exc.code, str(exc), False
            status.target = f"unusable URL of {org.id}"  # its own row on /fleet, not the main database's
            continue
        status.target = mask(url)
        urls.setdefault(render(url), (url, []))[1].append(status)
    gate = ServerGate()

    def check(item):
        url, members = item
        result = gate.probe(state, url, fleet.inspector(mask(url), [s.id for s in members]))
        fleet.remember_reachability(mask(url), result.code not in SERVER_FAILURES)
        _attach_health(members, result.details)
        for status in members:
            status.code, status.message, status.latency_ms = result.code, result.message, result.latency_ms
            status.revision = result.schema_revision
            status.reachable = result.code not in SERVER_FAILURES | {
                "auth_failed",
                "database_missing",
                "forbidden_target",
                "invalid_url",
            }
            status.shares_database_with = sorted(s.id for s in members if s is not status)
        progress()

    # Databases that failed at the network level last time first: their timeouts then run
    # beside the live databases' work rather than after it.
    ordered = sorted(urls.values(), key=lambda item: mask(item[0]) not in fleet.unreachable)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(check, ordered))
    main_health(state, [s for s in statuses if s.mode == "shared"])
    count_leftovers([s for s in statuses if s.mode != "shared"])
    moves_in_progress({s.id: s for s in statuses})
    return statuses


def _attach_health(members: list[OrgStatus], details: dict) -> None:
    donors = details.get("donors")
    health = {key: value for key, value in details.items() if key != "donors"}
    for status in members:
        status.database = health
        status.donors = donors.get(status.id, 0) if donors is not None else None


def main_health(state: Tenancy, served: list[OrgStatus]) -> None:
    """The main database's health, for the shared organizations."""
    if not served or state.main_url.get_backend_name() != "postgresql":
        return
    params = connect_params(
        for_driver(state.main_url),
        connect_timeout=state.config["TENANT_CONNECT_TIMEOUT"],
        application_name="tenant-console-status",
    )
    inspect = fleet.inspector("main database", [s.id for s in served])
    try:
        with psycopg.connect(**params, autocommit=True, prepare_threshold=None) as conn:
            conn.read_only = True
            with conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {PROBE_STATEMENT_TIMEOUT_MS}")
                details = inspect(conn)
    except psycopg.Error:  # the console answers, so this is rare: show the organizations without figures
        details = {}
    _attach_health(served, details)


def moves_in_progress(by_id: dict[str, OrgStatus]) -> None:
    active = select(OperationJob).where(
        OperationJob.state.in_(("queued", "running")), OperationJob.kind.in_(("move", "provision"))
    )
    for job in db.session.scalars(active):
        if job.organization_id in by_id:
            progress = f"{job.copied} copied, backlog {job.backlog}"
            by_id[
                job.organization_id
            ].move = f"{job.kind} {job.state} {job.phase or ''} -> {job.target_label}: {progress}"


def count_leftovers(dedicated: list[OrgStatus]) -> None:
    """Rows still in the shared database for organizations that are dedicated."""
    by_id = {s.id: s for s in dedicated}
    if not by_id:
        return
    for model in TENANT_MODELS:
        rows = db.session.execute(
            select(model.organization_id, func.count())
            .where(model.organization_id.in_(by_id))
            .group_by(model.organization_id)
        )
        for org_id, count in rows:
            by_id[org_id].leftovers += count
