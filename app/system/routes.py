from flask import current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import __version__
from app.extensions import db
from app.security import require_owner
from app.system import bp
from app.tenancy.schema import check_schema, read_revision, status_for
from app.tenancy.service import tenancy
from app.tenancy.urls import mask

SHOWN_SETTINGS = (
    "ENABLE_MULTI_DATABASE",
    "TENANT_DB_REQUIRE_SSL",
    "TENANT_DB_ALLOWED_HOSTS",
    "TENANT_DB_DENIED_NETWORKS",
    "TENANT_FALLBACK",
    "TENANT_RETRY_AFTER",
    "TENANT_ENGINE_CACHE_SIZE",
    "TENANT_POOL_SIZE",
    "TENANT_MAX_OVERFLOW",
    "TENANT_CONNECT_TIMEOUT",
    "TENANT_STATEMENT_TIMEOUT",
    "ALLOW_SQLITE_TENANTS",
)


def shown(value) -> str:
    """A setting as an operator reads it: on/off, none, not Python's True, False and []."""
    if isinstance(value, bool):
        return _("on") if value else _("off")
    if value in ("", [], None):
        return _("none")
    return ", ".join(value) if isinstance(value, list) else str(value)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: no 404 on every page."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "main database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/readyz")
def readyz():
    """Ready to serve: the main database answers and is at the schema head."""
    try:
        revision = read_revision(db.session.connection())
    except SQLAlchemyError:
        db.session.rollback()
        return {"ready": False, "reason": "main database unavailable"}, 503
    status = status_for(revision)
    if not status.ok:
        return {"ready": False, "reason": status.message}, 503
    return {"ready": True, "revision": revision}, 200


@bp.get("/system")
def system():
    require_owner()
    state = tenancy()
    registry = state.registry
    engines = [
        {
            "target": entry.masked,
            # NullPool (TENANT_POOL_SIZE=0) keeps nothing to count.
            "checked_out": getattr(entry.engine.pool, "checkedout", lambda: "-")(),
            "idle": getattr(entry.engine.pool, "checkedin", lambda: "-")(),
            "healthy": not entry.failing(),
            "last_error": entry.last_error,
        }
        for entry in registry.entries(current_user.organization_scope or None)
    ]
    settings = {name: shown(current_app.config[name]) for name in SHOWN_SETTINGS}
    settings["TENANT_URL_ENCRYPTION_KEY"] = _("set") if state.fernet else _("not set")
    main = {
        "target": mask(state.main_url),
        "schema": check_schema(db.session.connection()),
        "version": __version__,
    }
    return render_template(
        "system/system.html",
        engines=engines,
        settings=settings,
        main=main,
        # Process-wide figures speak of every organization: for unscoped owners only.
        counters=None if current_user.organization_scope else registry.counters,
        bound=registry.connection_bound,
    )
