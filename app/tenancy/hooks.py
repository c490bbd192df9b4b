"""Per request: the organization a route names, and the tenant session a blueprint reads from.

A blueprint says itself what it needs; nothing here knows blueprint names:
  serves_organizations(bp)  its routes under <org_id> get g.org, loaded once after sign-in
                            (a 404 "Organization not found" for an unknown or out-of-scope id);
  reads_tenant_data(bp)     the same, read-only, and g.tenant_session: a read-only
                            TenantSession on the organization's database (fallback policy applied).
"""

from flask import Blueprint, Flask, abort, current_app, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app import audit
from app.extensions import db
from app.models import Organization
from app.tenancy.service import Tenancy, tenancy


def get_organization_or_404(org_id: str) -> Organization:
    org = db.session.get(Organization, org_id)
    scope = current_user.organization_scope if current_user.is_authenticated else frozenset()
    if org is None or (scope and org.id not in scope):
        abort(404, description="Organization not found")
    return org


def serves_organizations(bp: Blueprint, *, read_only: bool = False) -> None:
    """bp's routes under <org_id> get g.org. With read_only, the request's main-database
    statements (the signed-in admin, the organization, a single audit row) run in
    autocommit, without the BEGIN and ROLLBACK round trips around them."""

    @bp.url_value_preprocessor
    def take_organization_id(_endpoint, values) -> None:
        if not values or "org_id" not in values:
            return
        g.org_id = values.pop("org_id")
        if read_only:  # before the request's first statement, which the sign-in check sends
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    @bp.before_request
    def load_organization() -> None:
        # A before_request of the blueprint runs after the app's sign-in check: anonymous
        # requests learn nothing about which ids exist.
        if "org_id" in g and "org" not in g:
            g.org = get_organization_or_404(g.org_id)


def reads_tenant_data(bp: Blueprint) -> None:
    serves_organizations(bp, read_only=True)
    bp.before_request(use_tenant)


def use_tenant() -> None:
    """Sets g.tenant_session and g.tenant_route for the organization of the request."""
    org = g.get("org")
    if org is None or "tenant_session" in g:
        return
    g.tenant_session, g.tenant_route = tenancy().open_session(org)
    # The guide's "log every database access": who read which organization, where, when.
    audit.record_read(
        audit.READ,
        org_id=org.id,
        outcome="fallback" if g.tenant_route.mode == "fallback" else "ok",  # an outcome, not where it was read
        detail=f"{g.tenant_route.target}: {request.path}",
    )


def add_organization_id(endpoint, values) -> None:
    org = g.get("org")
    if org is not None and "org_id" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "org_id"):
        values["org_id"] = org.id


def close_tenant(_exc=None) -> None:
    session = g.pop("tenant_session", None)
    if session is None:
        return
    try:
        session.close()
    except SQLAlchemyError:
        # The database went away mid-request: its connection is invalidated, the response already made.
        current_app.logger.warning("tenant session for %s closed on a broken connection", g.get("org") and g.org.id)


def init_app(app: Flask) -> None:
    app.extensions["tenancy"] = Tenancy(app)
    app.url_defaults(add_organization_id)
    app.teardown_appcontext(close_tenant)
