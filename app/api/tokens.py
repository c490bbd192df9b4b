"""Bearer tokens for /api: only their SHA-256 is stored; a token acts as its admin.

The API authenticates every request itself (authenticate, a before_request of the
blueprint): a console session cookie never authorizes it.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from flask import g, request
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from app.errors.responses import envelope
from app.extensions import db
from app.models import AdminUser, ApiToken

TOKEN_PREFIX = "tdc_"
LAST_USED_PRECISION = timedelta(minutes=1)  # one write a minute per token, not one per request


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def admin_for_bearer(header: str | None) -> AdminUser | None:
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer ") :].strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    stored = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    now = datetime.now(UTC)
    if stored is None or not stored.admin.active or stored.revoked_at is not None:
        return None
    if stored.expires_at is not None and _aware(stored.expires_at) <= now:
        return None
    if stored.last_used_at is None or now - _aware(stored.last_used_at) > LAST_USED_PRECISION:
        stored.last_used_at = now
        db.session.commit()
    return stored.admin


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def authenticate():
    """The token's admin becomes current_user for this request (Flask-Login reads g._login_user)."""
    if request.endpoint in (None, "api.openapi"):
        return None
    admin = admin_for_bearer(request.headers.get("Authorization"))
    g._login_user = admin or AnonymousUserMixin()
    if admin is None:
        return envelope("unauthorized", "A valid Authorization: Bearer <token> header is required."), 401
    return None
