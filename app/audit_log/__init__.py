from flask import Blueprint

bp = Blueprint("audit", __name__)

from app.audit_log import routes  # noqa: E402,F401
