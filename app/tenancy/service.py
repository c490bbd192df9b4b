"""The Tenancy service: which database serves an organization, and what happens when it fails.

One Tenancy per process (app.extensions["tenancy"]) holds the engine registry, the target
policy and the encryption keys. open_session() gives a read-only TenantSession on the
organization's dedicated database, or on the main one, applying the fallback policy; the
Flask hooks that call it per request live in hooks.py.
"""

import threading
from dataclasses import dataclass

from flask import Flask, current_app, g
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app import audit
from app.i18n import english
from app.models import Organization
from app.tenancy.engines import EngineEntry, EngineRegistry, make_read_only_engine
from app.tenancy.notifications import RouteListener
from app.tenancy.probe import MESSAGES as CODE_MESSAGES
from app.tenancy.probe import ProbeResult, classify, probe
from app.tenancy.schema import check_schema
from app.tenancy.scoping import TenantSession
from app.tenancy.targets import DnsFailure, TargetPolicy
from app.tenancy.urls import InvalidDatabaseUrl, fernet_for, mask, parse_database_url, resolve_stored, storage_kind

CORRECT_URL = _l("Correct the organization's database URL.")


class TenantUnavailable(Exception):
    """The dedicated database cannot serve this request. message is safe to show."""

    def __init__(self, code: str, message: str, hint: str = ""):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


@dataclass(frozen=True)
class Route:
    mode: str  # shared | dedicated | fallback
    target: str  # masked: "shared" or user@host:port/db
    problem: TenantUnavailable | None = None
    entry: EngineEntry | None = None  # the dedicated engine, to remember a failure seen mid-request


@dataclass(frozen=True)
class Target:
    kind: str  # none | plain | env | encrypted
    masked: str  # user@host:port/db, "" in shared mode
    problem: str | None  # why the stored value cannot be used, if it cannot


class Tenancy:
    """Per-process state: the registry, and a read-only engine for shared-mode reads."""

    def __init__(self, app: Flask):
        cfg = app.config
        self.config = cfg
        self.fernet = fernet_for(cfg["TENANT_URL_ENCRYPTION_KEY"])
        self.main_url = make_url(cfg["SQLALCHEMY_DATABASE_URI"])
        self.policy = TargetPolicy(
            main_url=self.main_url,
            allowed_hosts=cfg["TENANT_DB_ALLOWED_HOSTS"],
            denied_networks=cfg["TENANT_DB_DENIED_NETWORKS"],
            dns_timeout=cfg["TENANT_CONNECT_TIMEOUT"],
            require_ssl=cfg["TENANT_DB_REQUIRE_SSL"],
            sslrootcert=cfg["TENANT_DB_SSLROOTCERT"],
        )
        self.registry = EngineRegistry(
            capacity=cfg["TENANT_ENGINE_CACHE_SIZE"],
            pool_size=cfg["TENANT_POOL_SIZE"],
            max_overflow=cfg["TENANT_MAX_OVERFLOW"],
            connect_timeout=cfg["TENANT_CONNECT_TIMEOUT"],
            statement_timeout=cfg["TENANT_STATEMENT_TIMEOUT"],
            policy=self.policy,
        )
        self._shared_engine = None
        self._listener: RouteListener | None = None
        self._listener_lock = threading.Lock()

    @property
    def shared_engine(self):
        # Created on first use: the main database may not be migrated when the app starts.
        if self._shared_engine is None:
            self._shared_engine = make_read_only_engine(
                self.main_url,
                pool_size=self.config["TENANT_POOL_SIZE"],
                max_overflow=self.config["TENANT_MAX_OVERFLOW"],
                connect_timeout=self.config["TENANT_CONNECT_TIMEOUT"],
                statement_timeout=self.config["TENANT_STATEMENT_TIMEOUT"],
            )
        return self._shared_engine

    def listen_for_route_changes(self) -> None:
        """Started with the first tenant session, so commands that serve nothing hold no listener."""
        if self._listener is not None or self.main_url.get_backend_name() != "postgresql":
            return
        with self._listener_lock:
            if self._listener is None:
                self._listener = RouteListener(self.main_url, self.registry.forget)
                self._listener.start()

    def dispose(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.registry.dispose_all()
        if self._shared_engine is not None:
            self._shared_engine.dispose()

    def dedicated_url(self, org: Organization) -> URL:
        """The organization's dedicated URL, resolved from its stored form and validated."""
        text = resolve_stored(org.database_url, self.fernet)
        return parse_database_url(text, allow_sqlite=self.config["ALLOW_SQLITE_TENANTS"])

    def describe(self, org: Organization) -> "Target":
        """How an organization's URL is stored and where it points, masked, for pages and the API."""
        kind = storage_kind(org.database_url)
        if kind == "none":
            return Target(kind, "", None)
        try:
            url = self.dedicated_url(org)
        except InvalidDatabaseUrl as exc:
            return Target(kind, "", str(exc))
        return Target(kind, mask(url), None)

    def probe(self, url: URL, inspect=None) -> ProbeResult:
        return probe(url, policy=self.policy, connect_timeout=self.config["TENANT_CONNECT_TIMEOUT"], inspect=inspect)

    def uses_dedicated(self, org: Organization) -> bool:
        return bool(self.config["ENABLE_MULTI_DATABASE"] and org.database_url)

    def open_session(self, org: Organization) -> tuple[TenantSession, Route]:
        self.listen_for_route_changes()
        if not self.uses_dedicated(org):
            self.registry.release(org.id)
            return self._shared_session(org), Route("shared", "shared")
        try:
            entry = self._connect_dedicated(org)
        except TenantUnavailable as problem:
            if self.config["TENANT_FALLBACK"] == "error":
                raise
            self.registry.counters.fallbacks += 1
            return self._shared_session(org), Route("fallback", "shared", problem)
        session = TenantSession(bind=entry.engine, organization_id=org.id)
        return session, Route("dedicated", entry.masked, entry=entry)

    def _shared_session(self, org: Organization) -> TenantSession:
        return TenantSession(bind=self.shared_engine, organization_id=org.id)

    def _connect_dedicated(self, org: Organization) -> EngineEntry:
        try:
            url = self.dedicated_url(org)
        except InvalidDatabaseUrl as exc:
            raise TenantUnavailable(exc.code, exc.args[0], CORRECT_URL) from None
        entry = self.registry.get(url, org.id)
        if entry.failing():
            raise TenantUnavailable(
                entry.last_error_code, entry.last_error, _l("The console will try this database again shortly.")
            )
        try:
            with entry.engine.connect() as connection:
                if not entry.schema_ok:
                    status = check_schema(connection)
                    if not status.ok:
                        raise TenantUnavailable(
                            status.code, _l("Schema mismatch: %(message)s", message=status.message), status.hint
                        )
                    entry.schema_ok = True
        except TenantUnavailable as problem:
            self._remember(org, entry, problem)
            raise
        except (InvalidDatabaseUrl, DnsFailure) as exc:  # the target check on connect
            problem = TenantUnavailable(exc.code, exc.args[0], CORRECT_URL)
            self._remember(org, entry, problem)
            raise problem from None
        except (DBAPIError, SQLAlchemyError) as exc:
            problem = TenantUnavailable(
                "unreachable",
                _l(
                    "The dedicated database %(target)s could not be reached: %(reason)s.",
                    target=entry.masked,
                    reason=_reason(exc),
                ),
                _l("Check that the database server is running and reachable from the console."),
            )
            self._remember(org, entry, problem)
            raise problem from None
        entry.mark_ok()
        return entry

    def _remember(self, org: Organization, entry: EngineEntry, problem: TenantUnavailable) -> None:
        if entry.mark_failed(problem.code, problem.message, self.config["TENANT_RETRY_AFTER"]):
            # Once per failure window, not once per request.
            audit.record(
                "tenant.unavailable",
                org_id=org.id,
                outcome=problem.code,
                detail=f"{entry.masked}: {english(problem.message)}",
            )


def failed_mid_request(exc: Exception) -> None:
    """The dedicated database broke during this request: later requests fall back at once."""
    route = g.get("tenant_route")
    if route is not None and route.entry is not None:
        route.entry.mark_failed(
            "unreachable",
            _l(
                "The dedicated database %(target)s stopped answering: %(reason)s.",
                target=route.entry.masked,
                reason=_reason(exc),
            ),
            tenancy().config["TENANT_RETRY_AFTER"],
        )


def _reason(exc: Exception) -> LazyString:
    """A short cause without driver text (which may quote the connection string): the probe's
    classification, lazy like the message it goes into (kept by the engine registry, shown in
    each reader's language)."""
    message = CODE_MESSAGES[classify(getattr(exc, "orig", None) or exc)][0]
    return LazyString(lambda: (text := str(message).rstrip("."))[:1].lower() + text[1:])


def tenancy() -> Tenancy:
    return current_app.extensions["tenancy"]
