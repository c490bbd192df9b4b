"""Who is signed in, and the rule that every page but a few needs a signed-in admin."""
from flask import Flask, request
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db, login_manager
from app.models import AdminUser

PUBLIC_ENDPOINTS = {"auth.login", "system.healthz", "static", "bootstrap.static"}


@login_manager.user_loader
def load_admin(admin_id: str) -> AdminUser | None:
    try:
        return db.session.get(AdminUser, int(admin_id))
    except ValueError:
        return None


def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.before_request(require_sign_in)


def find_admin(email: str) -> AdminUser | None:
    return db.session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))
