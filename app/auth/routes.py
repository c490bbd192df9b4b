import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm
from app.auth.passwords import authenticate
from app.extensions import db, limiter
from app.i18n import LANGUAGES, clear_session
from app.security import end_sessions, find_admin


def safe_next(target: str | None) -> str:
    """Only a path on this site, so the sign-in page cannot be used to redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("organizations.index")


def account_key() -> str:
    """Failed sign-ins count per account and client address: an attacker elsewhere cannot lock
    the owner out from the owner's own address. The admin's session generation is part of
    the key, so reset-password (which bumps it) lifts every lock on the account."""
    email = (request.form.get("email") or "").strip().lower()[:320]
    admin = find_admin(email) if email else None
    return f"login:{email}:{request.remote_addr}:{admin.session_generation if admin else 0}"


LOCKED = _l(
    "Too many failed sign-ins for this account from this address: it is locked here for a while. "
    "Wait 15 minutes, or ask an operator to run %(command)s for it.",
    command="flask --app wsgi reset-password",
)


@bp.route("/login", methods=["GET", "POST"])
# Per address, every attempt; per account (known or not, so the lock reveals nothing), failures only.
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_IP"],
    methods=["POST"],
    key_func=get_remote_address,
    error_message=lambda: _("Too many sign-in attempts from this address; wait a minute and try again."),
)
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    methods=["POST"],
    key_func=account_key,
    deduct_when=lambda response: response.status_code == 401,
    error_message=lambda: str(LOCKED),
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("organizations.index"))
    form = LoginForm()
    if form.validate_on_submit():
        admin = authenticate(form.email.data, form.password.data)
        if admin is None:
            flash(_("Invalid email or password."), "danger")
            return render_template("auth/login.html", form=form), 401
        clear_session()  # a new session on sign-in: nothing from before survives but the language
        login_user(admin)
        session["last_seen"] = int(time.time())
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    # CSRFProtect has already refused a post without its token (400).
    if current_user.is_authenticated:
        end_sessions(current_user.id)  # on the server: a cookie saved before this no longer works
        db.session.commit()
    logout_user()
    clear_session()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """The navigation bar's switch: the language is kept in the session (CSRF-checked post)."""
    if request.form.get("lang") in LANGUAGES:
        session["lang"] = request.form["lang"]
    return redirect(safe_next(request.form.get("next")))
