"""Error pages: a clear message, the right status, never a stack trace or driver text."""

import math
import time

from flask import Flask, current_app, g, make_response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from app.errors.responses import error_response, wants_json
from app.extensions import db, limiter, login_manager
from app.tenancy.service import TenantUnavailable, failed_mid_request

TENANT_DOWN = _l("Organization database unavailable")

# For people, in their language, instead of werkzeug's English description of an error raised without one.
DESCRIPTIONS = {
    404: _l("The page was not found. Check the address, or go back to the organizations."),
    405: _l("This address does not take that kind of request."),
    413: _l("What was sent is too large."),
}


def handle_http(exc: HTTPException):
    status = exc.code or 500
    own = exc.description is not type(exc).description  # abort(..., description=...) is already in words
    if own or wants_json():  # API clients keep werkzeug's wording
        message = exc.description or exc.name
    else:
        message = DESCRIPTIONS.get(status, exc.description or exc.name)
    return error_response(status, message)


def handle_rate_limited(exc: RateLimitExceeded):
    """429 with Retry-After: the seconds until the limit's window lets the next attempt through."""
    limit = limiter.current_limit
    retry = max(1, math.ceil(limit.reset_at - time.time())) if limit else 60
    body, status = error_response(
        429,
        _("%(reason)s. Try again in %(seconds)d s.", reason=exc.description.rstrip("."), seconds=retry),
        code="rate_limited",
    )
    response = make_response(body, status)
    response.headers["Retry-After"] = str(retry)
    return response


def handle_csrf(exc: CSRFError):
    return error_response(
        400, _("The form expired or was not sent from this console. Reload the page and try again."), code="csrf_failed"
    )


def handle_tenant_unavailable(exc: TenantUnavailable):
    db.session.rollback()
    return error_response(503, exc.message, code=exc.code, hint=exc.hint, title=TENANT_DOWN)


def handle_database_down(exc: OperationalError):
    # Driver text may quote a connection string: log the class and SQLSTATE only.
    current_app.logger.error("database error: %s %s", exc.__class__.__name__, getattr(exc.orig, "sqlstate", ""))
    db.session.rollback()
    if g.get("tenant_session") is not None:
        failed_mid_request(exc)
        return error_response(
            503,
            _("The organization's database did not answer in time. Try again in a moment."),
            code="tenant_database_error",
            title=TENANT_DOWN,
        )
    if "_login_user" not in g:  # render the page without asking the database that is down who is signed in
        g._login_user = login_manager.anonymous_user()
    return error_response(
        503, _("The console's main database is not answering. Try again in a moment."), code="main_database_unavailable"
    )


def handle_bad_data(exc: DataError):
    # PostgreSQL refused a value (a NUL byte, say): the input was bad, not the server.
    db.session.rollback()
    return error_response(
        400,
        _(
            "The input holds characters or values that cannot be used (for example a NUL byte). "
            "Correct it and try again."
        ),
        code="bad_request",
    )


def handle_unexpected(exc: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return error_response(500, _("Something went wrong on our side; it has been logged."))


def init_app(app: Flask) -> None:
    app.extensions["json_prefixes"] = []
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(TenantUnavailable, handle_tenant_unavailable)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(DataError, handle_bad_data)
    if not app.debug:
        app.register_error_handler(Exception, handle_unexpected)
