"""Who is signed in, the rule that every page but a few needs a signed-in admin, and the owner guard.

The console's pages authenticate with a session cookie. A blueprint that authenticates
its requests itself (the API, with bearer tokens) says so with authenticates_itself(bp):
the cookie then means nothing to it.
"""

import time
from dataclasses import dataclass

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import bindparam, select, update

from app.extensions import db, limiter, login_manager
from app.i18n import clear_session
from app.models import AdminOrganization, AdminUser
from app.models.main import AdminIdentity

PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.language",
    "system.healthz",
    "system.readyz",
    "system.favicon",
    "static",
    "bootstrap.static",
    "api.openapi",
}


@dataclass(frozen=True, eq=False)
class SignedInAdmin(AdminIdentity):
    """The signed-in admin as pages read it (never written through): loaded by one Core
    query on every request, which costs half of an ORM load with its scope."""

    id: int
    email: str
    role: str
    active: bool
    session_generation: int
    organization_scope: frozenset[str]  # organization ids this admin may see; empty means all


_admin, _scope = AdminUser.__table__, AdminOrganization.__table__
LOAD_ADMIN = (
    select(
        _admin.c.id, _admin.c.email, _admin.c.role, _admin.c.active, _admin.c.sessionGeneration, _scope.c.organizationId
    )
    .outerjoin(_scope, _scope.c.adminId == _admin.c.id)
    .where(_admin.c.id == bindparam("admin_id"))
)


@login_manager.user_loader
def load_admin(session_id: str) -> SignedInAdmin | None:
    """The admin of a session "id:generation"; None (signed out) once the admin signed out
    anywhere, had the password reset or was deactivated since the session was made."""
    admin_id, _, generation = session_id.partition(":")
    try:
        rows = db.session.execute(LOAD_ADMIN, {"admin_id": int(admin_id)}).all()
    except ValueError:
        return None
    if not rows or not rows[0].active or str(rows[0].sessionGeneration) != generation:
        return None
    first = rows[0]
    scope = frozenset(row.organizationId for row in rows if row.organizationId)
    return SignedInAdmin(first.id, first.email, first.role, first.active, first.sessionGeneration, scope)


def end_sessions(admin_id: int) -> None:
    """Every console session of this admin ends now (the caller commits)."""
    db.session.execute(
        update(AdminUser).where(AdminUser.id == admin_id).values(session_generation=AdminUser.session_generation + 1)
    )


@login_manager.unauthorized_handler
def unauthorized():
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def authenticates_itself(bp: Blueprint) -> None:
    """bp checks its own credentials (in a before_request of its own); the session cookie is not asked."""
    bp.record_once(lambda state: state.app.extensions["self_authenticating"].add(bp.name))


def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if request.blueprint in current_app.extensions["self_authenticating"]:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return enforce_idle_timeout()


def require_owner() -> None:
    """The one owner guard: viewers may look, only owners change anything."""
    if not current_user.is_owner:
        abort(403, description=_("Only owners can do this; viewers may look but not change anything."))


def enforce_idle_timeout():
    """Sign out a console session left idle for ADMIN_SESSION_IDLE_MINUTES."""
    now = int(time.time())
    last = session.get("last_seen", now)
    if now - last > current_app.config["ADMIN_SESSION_IDLE_MINUTES"] * 60:
        logout_user()
        clear_session()
        flash(_("You were signed out after a period without activity. Sign in again to continue."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if now - last >= 60:  # refresh at most once a minute, not a new cookie on every request
        session["last_seen"] = now
    return None


def init_app(app: Flask) -> None:
    login_manager.session_protection = "strong"
    app.extensions["self_authenticating"] = set()
    app.before_request(require_sign_in)


def find_admin(email: str) -> AdminUser | None:
    return db.session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))


def admin_key() -> str:
    """Rate-limit key: the signed-in admin (API tokens act as their admin)."""
    return f"admin:{current_user.id}" if current_user.is_authenticated else f"ip:{request.remote_addr}"


# Connectivity tests (and the test every save runs) share one per-admin budget,
# across the pages and the API, so nobody can use the console to scan a network.
connectivity_test_limit = limiter.shared_limit(
    lambda: current_app.config["TENANT_TEST_RATE_LIMIT"],
    scope="connectivity-test",
    key_func=admin_key,
    error_message=lambda: _("Too many connectivity tests in a short time (TENANT_TEST_RATE_LIMIT)"),
)
