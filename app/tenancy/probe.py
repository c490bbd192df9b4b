"""The connectivity test: one bounded attempt, classified into a code a person can act on.

Never raw driver text, never the password: each code has its own message and a hint at
the field that is most likely wrong.
"""

import sqlite3
import time
from dataclasses import dataclass, field

import psycopg
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import URL

from app.tenancy import fingerprint
from app.tenancy.schema import head_revision, read_revision, status_for
from app.tenancy.targets import DnsFailure, TargetPolicy
from app.tenancy.urls import InvalidDatabaseUrl, behind_pooler, connect_params, mask

PROBE_STATEMENT_TIMEOUT_MS = 3000

MESSAGES = {
    "ok": (_l("Connected."), ""),
    "invalid_url": (
        _l("The URL is not valid."),
        _l("Check the URL's format: postgresql://user:password@host:port/database."),
    ),
    "forbidden_target": (_l("That target is not allowed."), _l("Point the organization at its own database.")),
    "dns_failure": (_l("The host name could not be resolved."), _l("Check the host part of the URL.")),
    "refused": (
        _l("The server refused the connection: nothing is listening there."),
        _l("Check the host and the port."),
    ),
    "timeout": (
        _l("The server did not answer in time."),
        _l("Check the host and port, and that a firewall lets the console reach the database."),
    ),
    "ssl_failed": (
        _l("The encrypted (TLS) connection could not be set up."),
        _l("Check sslmode, and that the server supports TLS."),
    ),
    "auth_failed": (_l("The server rejected the user name or password."), _l("Check the user and the password.")),
    "database_missing": (
        _l("The server has no database by that name."),
        _l("Check the database name after the last /."),
    ),
    "permission_denied": (
        _l("The user is not allowed to connect to or read this database."),
        _l("Grant the user CONNECT on the database and SELECT on its tables."),
    ),
    "schema_drift": (
        _l("The schema is at head, but its tables' objects differ from what the migrations create."),
        _l("Re-create what is missing or changed as the migrations define it (migrations/versions), then test again."),
    ),
    "unknown": (_l("The connection failed for an unexpected reason."), _l("Check the database server's log.")),
}


@dataclass
class ProbeResult:
    code: str
    message: str
    hint: str = ""
    latency_ms: float | None = None
    server_version: str | None = None
    schema_revision: str | None = None
    target: str = ""
    pooler: bool = False  # reached through a transaction-mode pooler
    details: dict = field(default_factory=dict)  # what an inspect callable read on the same connection

    @property
    def ok(self) -> bool:
        return self.code == "ok"

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "code": self.code,
            "message": str(self.message),
            "latencyMs": self.latency_ms,
            "serverVersion": self.server_version,
            "schemaRevision": self.schema_revision,
            "pooler": self.pooler,
        }


def result(code: str, message: str | None = None, hint: str | None = None, **extra) -> ProbeResult:
    default_message, default_hint = MESSAGES.get(code, MESSAGES["unknown"])
    return ProbeResult(
        code=code, message=message or default_message, hint=hint if hint is not None else default_hint, **extra
    )


# A pooler's own errors (PgBouncer's wording; Supavisor's is close): the existing codes,
# with a message that says the pooler answered, not the database server.
POOLER_ERRORS = (
    ("no such database", "database_missing", _l("The pooler has no database by that name.")),
    ("no more connections allowed", "refused", _l("The pooler refused the connection: it takes no more clients.")),
    (
        "query_wait_timeout",
        "timeout",
        _l("The pooler found no free server connection in time (its pool is exhausted)."),
    ),
    ("cannot connect to server", "refused", _l("The pooler could not reach its database server.")),
    ("server login has been failing", "refused", _l("The pooler could not reach its database server.")),
)


def pooler_error(exc: Exception) -> tuple[str, str] | None:
    text = str(exc).lower()
    return next(((code, message) for needle, code, message in POOLER_ERRORS if needle in text), None)


def classify(exc: Exception) -> str:
    """SQLSTATE first, then the message: connection failures often carry no SQLSTATE."""
    by_state = {
        "28P01": "auth_failed",
        "28000": "auth_failed",
        "3D000": "database_missing",
        "42P01": "schema_missing",
        "42501": "permission_denied",
        "57014": "timeout",
    }
    state = getattr(exc, "sqlstate", None)
    if state in by_state:
        return by_state[state]
    if pooled := pooler_error(exc):
        return pooled[0]
    text = str(exc).lower()
    if 'role "' in text and "does not exist" in text:
        return "auth_failed"
    for needle, code in (
        ("timeout expired", "timeout"),
        ("timed out", "timeout"),
        ("connection refused", "refused"),
        ("could not translate host name", "dns_failure"),
        ("name or service not known", "dns_failure"),
        ("password authentication failed", "auth_failed"),
        ("no password supplied", "auth_failed"),
        ("authentication failed", "auth_failed"),
        ("pg_hba.conf", "auth_failed"),
        ("ssl", "ssl_failed"),
        ("does not exist", "database_missing"),
        ("unable to open database file", "database_missing"),
        ("permission denied", "permission_denied"),
    ):
        if needle in text:
            return code
    return "unknown"


def probe(url: URL, *, policy: TargetPolicy, connect_timeout: int, inspect=None) -> ProbeResult:
    """Connect once to url, read its version and schema revision; bounded in time. inspect,
    when given, is called with the psycopg connection inside the same read-only transaction
    (under the same statement timeout) and returns the result's details."""
    target = mask(url)
    started = time.monotonic()
    try:
        addresses = policy.check(url)
    except InvalidDatabaseUrl as exc:
        return result(exc.code, exc.args[0], target=target)
    except DnsFailure as exc:
        return result("dns_failure", exc.args[0], target=target)
    try:
        if url.get_backend_name() == "sqlite":
            (version, revision), drift, details = _read_sqlite(url), [], {}
        else:
            version, revision, drift, details = _read_postgres(url, addresses, connect_timeout, policy, inspect)
    except InvalidDatabaseUrl as exc:  # the main database behind another address
        return result(exc.code, exc.args[0], target=target, latency_ms=_ms(started))
    except (psycopg.Error, sqlite3.Error) as exc:
        code, message = classify(exc), None
        if pooled := pooler_error(exc):
            message = pooled[1]
        elif code == "timeout":
            message = _l("The server did not answer within %(seconds)s s.", seconds=connect_timeout)
        return result(code, message, target=target, latency_ms=_ms(started), pooler=behind_pooler(url))
    latency = _ms(started)
    status = status_for(revision)
    extra = {
        "target": target,
        "latency_ms": latency,
        "server_version": version,
        "schema_revision": revision,
        "pooler": behind_pooler(url),
        "details": details,
    }
    if not status.ok:
        return result(status.code, status.message, status.hint, **extra)
    if drift:
        objects = fingerprint.describe(drift)
        return result(
            "schema_drift",
            _l("%(message)s %(objects)s.", message=MESSAGES["schema_drift"][0], objects=objects),
            **extra,
        )
    if extra["pooler"]:
        return result(
            "ok", _l("Connected through a connection pooler (transaction mode); the schema is at head."), "", **extra
        )
    return result("ok", _l("Connected; the schema is at head."), "", **extra)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _read_postgres(
    url: URL, addresses: list[str], connect_timeout: int, policy: TargetPolicy, inspect
) -> tuple[str, str | None, list[str], dict]:
    params = connect_params(
        url,
        connect_timeout=connect_timeout,
        application_name="tenant-console-probe",
        hostaddr=addresses[0] if addresses else None,
        **policy.connect_extras(),
    )
    # No start-up options and nothing prepared: the same steps work directly and through a
    # transaction-mode pooler, which refuses options and keeps nothing past one transaction.
    with psycopg.connect(**params, autocommit=True, prepare_threshold=None) as conn:
        policy.check_identity(conn)
        conn.read_only = True
        with conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = {PROBE_STATEMENT_TIMEOUT_MS}")
            version = "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split(" ")[0]
            revision = read_revision(conn)
            drift = fingerprint.differences(fingerprint.read(conn)) if revision == head_revision() else []
            return version, revision, drift, inspect(conn) if inspect else {}


def _read_sqlite(url: URL) -> tuple[str, str | None]:
    with sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, timeout=2) as conn:
        return "SQLite " + sqlite3.sqlite_version, read_revision(conn)
