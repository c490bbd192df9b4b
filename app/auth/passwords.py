"""Admin passwords: argon2id hashes, and sign-in that does not reveal which emails exist."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func

from app.extensions import db
from app.models import AdminUser
from app.security import find_admin

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures cost the same time.
    Made on first use: an argon2 hash takes 64 MiB and a fifth of a second, not for every import."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(email: str, password: str) -> AdminUser | None:
    admin = find_admin(email)
    try:
        _hasher.verify(admin.password_hash if admin else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if admin is None or not admin.active:
        return None
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = hash_password(password)
    admin.last_login_at = func.now()
    db.session.commit()
    return admin
