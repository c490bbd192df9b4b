"""Provisioning: the guide's step 2 ("a database per organization") in one resumable step.

On a PostgreSQL server reached through a maintenance URL (a role with CREATEDB and
CREATEROLE; used for this run only, never stored): a login role for the organization with
a generated password and none of superuser, CREATEDB, CREATEROLE, replication or
BYPASSRLS, under a connection limit; a database it owns, closed to PUBLIC; then the
migrations and the online move (app/operations/moves.py), which switches and stores the
URL (sealed when a key is set). Run again after a failure, it continues: what exists is
checked and kept, the role gets a fresh password (the old one was never kept), the move
resumes. The password reaches the server only as a SCRAM verifier, so no server log can
hold it either.
"""

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import URL

from app.extensions import db
from app.models import Organization
from app.operations import moves, online
from app.operations.databases import writable
from app.operations.transfer import TransferError, other_organizations
from app.tenancy.service import Tenancy
from app.tenancy.targets import DnsFailure
from app.tenancy.urls import InvalidDatabaseUrl, connect_params, mask, parse_database_url, render, same_database

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
PASSWORD_BYTES = 32  # token_urlsafe: 43 characters
FORBIDDEN = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls")
SCRAM_ITERATIONS = 4096


@dataclass
class Provisioning:
    org: Organization
    server: URL  # the maintenance URL: this run only
    role: str
    database: str
    connection_limit: int
    steps: list[str] = field(default_factory=list)
    database_ms: float | None = None  # CREATE DATABASE, when this run made it
    tenant_url: URL | None = None

    @property
    def label(self) -> str:
        return mask(self.server.set(username=self.role, password=None, database=self.database))


def default_names(org_id: str) -> str:
    """tenant_<id, made safe>_<digest>: valid as a role and a database name, distinct per organization."""
    safe = re.sub(r"[^a-z0-9_]+", "_", org_id.lower()).strip("_")[:40]
    return f"tenant_{safe}_{hashlib.sha256(org_id.encode()).hexdigest()[:8]}"


def plan(
    state: Tenancy, org: Organization, server_text: str, database: str | None, connection_limit: int
) -> Provisioning:
    try:
        server = parse_database_url(server_text, allow_sqlite=False)
        state.policy.check(server)
    except (InvalidDatabaseUrl, DnsFailure) as exc:
        raise TransferError(f"--server: {exc}") from None
    name = database or default_names(org.id)
    if not NAME.match(name):
        raise TransferError("--database: letters, digits and underscores, starting with a letter, 63 at most.")
    if connection_limit < 1:
        raise TransferError("the connection limit must be 1 or more.")
    return Provisioning(org, server, default_names(org.id), name, connection_limit)


def already_there(state: Tenancy, job: Provisioning) -> bool:
    """The organization is served by that database already (a re-run after success); refuses another one."""
    if not job.org.database_url:
        return False
    current = state.dedicated_url(job.org)
    if same_database(current, job.server.set(database=job.database)):
        return True
    raise TransferError(
        f"{job.org.id} is dedicated to {mask(current)} already; tenants deprovision {job.org.id} first."
    )


def run(
    state: Tenancy,
    job: Provisioning,
    *,
    dry_run: bool = False,
    report: Callable[[online.Progress], None] = lambda p: None,
) -> Provisioning:
    """Create (or find) the role and database, migrate, move online and switch."""
    if already_there(state, job):
        with writable(state, state.dedicated_url(job.org)).connect() as conn:
            conn.autocommit = True
            job.steps += online.validated_keys(conn, job.org.id)  # a move killed before it validated them
        job.steps.append(f"{job.org.id} is served by {job.label} already: nothing to do")
        return job
    with _maintenance(state, job.server) as conn:
        _check_maintenance_role(conn)
        role_exists, db_owner = _existing(conn, job)
        if dry_run:
            job.steps += [
                f"{'reuse' if role_exists else 'create'} role {job.role} (limit {job.connection_limit} connections)",
                f"{'reuse' if db_owner else 'create'} database {job.database} owned by it, CONNECT revoked from PUBLIC",
                "migrate it to head, move the organization's rows online, switch its databaseUrl",
            ]
            return job
        report(online.Progress(phase="role"))
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        _ensure_role(conn, job, role_exists, password)
        report(online.Progress(phase="database"))
        _ensure_database(conn, job, db_owner)
    job.tenant_url = job.server.set(username=job.role, password=password, database=job.database)
    report(online.Progress(phase="migrate"))
    move = moves.plan_move(state, job.org, render(job.tenant_url))
    moves.prepare_target(move, dry_run=False)
    result, progress = moves.execute(state, move, purge_shared=False, report=report)
    job.steps += move.notes + [
        f"moved {sum(result.verified.values()):,} rows; writes paused {progress.last_pause_ms} ms"
    ]
    return job


def _maintenance(state: Tenancy, server: URL) -> psycopg.Connection:
    params = connect_params(
        server,
        connect_timeout=state.config["TENANT_CONNECT_TIMEOUT"],
        application_name="tenant-console-provision",
        **state.policy.connect_extras(),
    )
    try:
        return psycopg.connect(**params, autocommit=True)
    except psycopg.OperationalError:
        raise TransferError(f"cannot connect to the --server {mask(server)}") from None


def _check_maintenance_role(conn: psycopg.Connection) -> None:
    superuser, createrole, createdb = conn.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if not (superuser or (createrole and createdb)):
        raise TransferError("the --server role needs CREATEDB and CREATEROLE (or to be a superuser).")


def mark(org_id: str) -> str:
    """The comment provision leaves on what it creates: deprovision --drop drops nothing without it."""
    return f"tenant-console: provisioned for organization {org_id}"


def _existing(conn: psycopg.Connection, job: Provisioning) -> tuple[bool, str | None]:
    role = conn.execute(f"SELECT {', '.join(FORBIDDEN)} FROM pg_roles WHERE rolname = %s", (job.role,)).fetchone()
    if role and any(role):
        granted = [flag.removeprefix("rol") for flag, on in zip(FORBIDDEN, role, strict=True) if on]
        raise TransferError(f"role {job.role} exists with {', '.join(granted)}: a tenant role must have none of them.")
    member_of = conn.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
        (job.role,),
    ).fetchall()
    if member_of:
        raise TransferError(f"role {job.role} exists and is a member of {', '.join(r[0] for r in member_of)}: refused.")
    owner = conn.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (job.database,)
    ).fetchone()
    if owner and owner[0] != job.role:
        raise TransferError(f"database {job.database} exists and belongs to {owner[0]}; choose another --database.")
    return role is not None, owner[0] if owner else None


def _ensure_role(conn: psycopg.Connection, job: Provisioning, exists: bool, password: str) -> None:
    attributes = sql.SQL("LOGIN CONNECTION LIMIT {} PASSWORD {} VALID UNTIL 'infinity'").format(
        sql.Literal(job.connection_limit), sql.Literal(scram_verifier(password))
    )
    if exists:  # its attributes were checked (_existing); naming them again would need a superuser
        conn.execute(sql.SQL("ALTER ROLE {} ").format(sql.Identifier(job.role)) + attributes)
    else:
        denied = sql.SQL(" NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
        conn.execute(sql.SQL("CREATE ROLE {} ").format(sql.Identifier(job.role)) + attributes + denied)
    # CREATE DATABASE ... OWNER needs membership in the owner role when the maintenance role is not a superuser.
    if not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(job.role)))
    conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(job.role), sql.Literal(mark(job.org.id))))
    job.steps.append(
        f"role {job.role}: {'new password' if exists else 'created'}, connection limit {job.connection_limit}"
    )


def _ensure_database(conn: psycopg.Connection, job: Provisioning, owner: str | None) -> None:
    name = sql.Identifier(job.database)
    if owner is None:
        # WAL_LOG (PostgreSQL 15+) copies the small template through the WAL: no checkpoint to wait for.
        strategy = sql.SQL(" STRATEGY WAL_LOG") if conn.info.server_version >= 150000 else sql.SQL("")
        started = time.perf_counter()
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, sql.Identifier(job.role)) + strategy)
        job.database_ms = round((time.perf_counter() - started) * 1000, 1)
        job.steps.append(f"database {job.database} created in {job.database_ms} ms")
    conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(name))
    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(mark(job.org.id))))


def scram_verifier(password: str) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for password (RFC 7677), computed here."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def drop(state: Tenancy, server: URL, org: Organization, database: URL) -> list[str]:
    """Drop a deprovisioned organization's database and role: only what provision made for it
    (its mark), never the main database, nor a role or database anyone else's URL names."""
    if same_database(state.main_url, database):
        raise TransferError(f"{mask(database)} is the console's main database; nothing was dropped.")
    users = organizations_using(state, database, except_id=org.id)
    if users:
        raise TransferError(f"{mask(database)} is used by {', '.join(users)}; nothing was dropped.")
    with _maintenance(state, server) as conn:
        found = {
            kind: conn.execute(query, (name,)).fetchone()
            for kind, name, query in (
                (
                    "database",
                    database.database,
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                ),
                (
                    "role",
                    database.username,
                    "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
                ),
            )
        }  # kind -> None (absent) or (its comment,)
        for kind, row in found.items():
            if row is not None and row[0] != mark(org.id):
                raise TransferError(f"that {kind} was not made by tenants provision for {org.id}; nothing was dropped.")
        if found["database"]:
            with _maintenance(state, server.set(database=database.database)) as tenant:
                others = other_organizations(tenant, org.id)
            if others:
                raise TransferError(f"{mask(database)} holds rows of {', '.join(others)}; nothing was dropped.")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database.database)))
        if found["role"]:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(database.username)))
    return [
        f"{kind} {name} {'dropped' if found[kind] else 'was already gone'}"
        for kind, name in (("database", database.database), ("role", database.username))
    ]


def organizations_using(state: Tenancy, database: URL, except_id: str) -> list[str]:
    """The other organizations whose dedicated URL names that database or logs in as its role."""
    stored = select(Organization).where(Organization.database_url.is_not(None), Organization.id != except_id)
    users = []
    for other in db.session.scalars(stored):
        try:
            url = state.dedicated_url(other)
            same_role = (url.host, url.port, url.username) == (database.host, database.port, database.username)
            if same_database(url, database) or same_role:
                users.append(other.id)
        except InvalidDatabaseUrl:
            continue
    return users
