"""Who is signed in, and the rule that every page but a few needs a signed-in admin."""
import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select

from app.extensions import db, limiter, login_manager
from app.models import AdminUser

PUBLIC_ENDPOINTS = {"auth.login", "system.healthz", "system.readyz", "static", "bootstrap.static", "api.openapi"}


@login_manager.user_loader
def load_admin(admin_id: str) -> AdminUser | None:
    if request.blueprint == "api":
        return None  # the API takes bearer tokens only: a session cookie must not authorize it
    try:
        return db.session.get(AdminUser, int(admin_id))
    except ValueError:
        return None


@login_manager.request_loader
def load_admin_from_token(req) -> AdminUser | None:
    if req.blueprint != "api":
        return None
    from app.api.tokens import admin_for_bearer

    return admin_for_bearer(req.headers.get("Authorization"))


@login_manager.unauthorized_handler
def unauthorized():
    if request.blueprint == "api":
        return {"success": False, "error": {"code": "unauthorized",
                                            "message": "A valid Authorization: Bearer <token> header is required."}}, 401
    flash("Please sign in to continue.", "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.blueprint != "api":
        return enforce_idle_timeout()
    return None


def enforce_idle_timeout():
    """Sign out a console session left idle for ADMIN_SESSION_IDLE_MINUTES."""
    now = int(time.time())
    last = session.get("last_seen", now)
    if now - last > current_app.config["ADMIN_SESSION_IDLE_MINUTES"] * 60:
        logout_user()
        session.clear()
        flash("You were signed out after a period without activity. Sign in again to continue.", "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if now - last >= 60:  # refresh at most once a minute, not a new cookie on every request
        session["last_seen"] = now
    return None


def init_app(app: Flask) -> None:
    login_manager.session_protection = "strong"
    app.before_request(require_sign_in)


def find_admin(email: str) -> AdminUser | None:
    return db.session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))


def admin_key() -> str:
    """Rate-limit key: the signed-in admin (API tokens act as their admin)."""
    return f"admin:{current_user.id}" if current_user.is_authenticated else f"ip:{request.remote_addr}"


# Connectivity tests (and the test every save runs) share one per-admin budget,
# across the pages and the API, so nobody can use the console to scan a network.
connectivity_test_limit = limiter.shared_limit(
    lambda: current_app.config["TENANT_TEST_RATE_LIMIT"], scope="connectivity-test", key_func=admin_key,
)
