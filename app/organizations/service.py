"""Changing where an organization's data lives: test, save, clear. Used by the pages and the API.

Every change and every test writes an audit event with masked targets only.
"""

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from app import audit
from app.command_hint import flask_command
from app.extensions import db
from app.i18n import english
from app.models import TENANT_MODELS, Organization
from app.tenancy.probe import ProbeResult, result
from app.tenancy.service import tenancy
from app.tenancy.targets import DnsFailure
from app.tenancy.urls import InvalidDatabaseUrl, mask, parse_database_url, render, same_login, seal

# A failed connectivity test may be overridden by an owner; a bad or forbidden URL may not.
NOT_FORCEABLE = {"invalid_url", "forbidden_target"}


class ChangeRefused(Exception):
    def __init__(self, probe: ProbeResult):
        super().__init__(probe.message)
        self.probe = probe


def visible_organizations() -> Select:
    """Organizations the signed-in admin may see (an empty scope means all), by name."""
    stmt = select(Organization).order_by(Organization.name, Organization.id)
    scope = current_user.organization_scope
    if scope:
        stmt = stmt.where(Organization.id.in_(scope))
    return stmt


def _stored_url(org: Organization) -> URL | None:
    if not org.database_url:
        return None
    try:
        return tenancy().dedicated_url(org)
    except InvalidDatabaseUrl:
        return None


def candidate_url(org: Organization, text: str) -> URL:
    """Parse the edited URL. A blank password keeps the stored one only for the very same
    target (host, port, database and user), with TLS no weaker: the console never sends a
    stored password anywhere else."""
    url = parse_database_url(text, allow_sqlite=tenancy().config["ALLOW_SQLITE_TENANTS"])
    stored = _stored_url(org)
    if not url.password and stored is not None and stored.password and same_login(url, stored):
        url = url.set(password=stored.password)
    return url


def test_connection(org: Organization, text: str | None) -> ProbeResult:
    """Test the URL given, or the stored one when text is blank. Audited, never saved."""
    try:
        if text and text.strip():
            url = candidate_url(org, text)
        elif org.database_url:
            url = tenancy().dedicated_url(org)
        else:
            outcome = result("invalid_url", _l("Shared mode has no dedicated URL to test; enter one."))
            audit.record("database.test", org_id=org.id, outcome=outcome.code, detail="shared")
            return outcome
    except InvalidDatabaseUrl as exc:
        outcome = result(exc.code, str(exc))
    else:
        outcome = tenancy().probe(url)
    # A URL only typed and tested is not the organization's target: its result is the test
    # alert's, and the pages' "Last test" (database.test, .save, .clear) never shows it.
    action = "database.test-typed" if text and text.strip() else "database.test"
    audit.record(action, org_id=org.id, outcome=outcome.code, detail=_detail(outcome))
    return outcome


def save_database_url(org: Organization, text: str, *, force: bool = False) -> ProbeResult:
    """Test, then store (encrypted when a key is set). Raises ChangeRefused; nothing is written then."""
    old = tenancy().describe(org).masked or "shared"
    try:
        url = candidate_url(org, text)
    except InvalidDatabaseUrl as exc:
        outcome = result(exc.code, str(exc))
    else:
        outcome = tenancy().probe(url)
    forced = force and current_user.is_owner and outcome.code not in NOT_FORCEABLE
    if outcome.ok and not forced and rows_left_behind(org, url):
        outcome = result(
            "data_not_moved",
            _l(
                "%(org)s's rows are still in the shared database and %(target)s holds none of them (its pages "
                "would show no donors): move them first with %(command)s.",
                org=org.id,
                target=outcome.target,
                command=flask_command(f"tenants move {org.id} --to <url>"),
            ),
            _l("Or save anyway, if the rows are meant to stay behind."),
            target=outcome.target,
        )
    if not outcome.ok and not forced:
        audit.record(
            "database.save-refused", org_id=org.id, outcome=outcome.code, detail=f"{old} -> {_target(outcome)}"
        )
        raise ChangeRefused(outcome)
    org.database_url = seal(render(url), tenancy().fernet)
    db.session.commit()
    tenancy().registry.release(org.id)
    note = " (saved although the test failed)" if not outcome.ok else ""
    audit.record("database.save", org_id=org.id, outcome=outcome.code, detail=f"{old} -> {mask(url)}{note}")
    return outcome


def rows_left_behind(org: Organization, url: URL) -> bool:
    """The switch guard: org is in shared mode with rows in the main database, and the
    database at url holds none of them (the rows were never moved there)."""
    if org.database_url is not None or not any(
        db.session.scalar(select(model.id).where(model.organization_id == org.id).limit(1)) for model in TENANT_MODELS
    ):
        return False
    engine = tenancy().registry.create_engine(url)  # not cached: the save may still be refused
    try:
        with engine.connect() as conn:
            return not any(
                conn.scalar(select(model.id).where(model.organization_id == org.id).limit(1)) for model in TENANT_MODELS
            )
    except (SQLAlchemyError, InvalidDatabaseUrl, DnsFailure):
        return False  # it answered the test a moment ago; the test's verdict stands
    finally:
        engine.dispose()


def clear_database_url(org: Organization) -> None:
    old = tenancy().describe(org).masked or "shared"
    org.database_url = None
    db.session.commit()
    tenancy().registry.release(org.id)
    audit.record("database.clear", org_id=org.id, detail=f"{old} -> shared")


def _target(outcome: ProbeResult) -> str:
    return outcome.target or "(invalid URL)"


def _detail(outcome: ProbeResult) -> str:
    return f"{_target(outcome)}: {english(outcome.message)}"
