"""Bearer tokens for /api: only their SHA-256 is stored; a token acts as its admin."""
import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import AdminUser, ApiToken

TOKEN_PREFIX = "tdc_"
LAST_USED_PRECISION = timedelta(minutes=1)  # one write a minute per token, not one per request


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def admin_for_bearer(header: str | None) -> AdminUser | None:
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer "):].strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    stored = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if stored is None or not stored.admin.active:
        return None
    now = datetime.now(timezone.utc)
    last = stored.last_used_at
    if last is None or (last.tzinfo and now - last > LAST_USED_PRECISION) or (not last.tzinfo):
        stored.last_used_at = now
        db.session.commit()
    return stored.admin
