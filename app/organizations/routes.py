from flask import redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Organization
from app.organizations import bp
from app.tenancy.routing import tenancy


def visible_organizations():
    """Organizations the signed-in admin may see (an empty scope means all)."""
    stmt = select(Organization).order_by(Organization.name, Organization.id)
    scope = current_user.organization_scope
    if scope:
        stmt = stmt.where(Organization.id.in_(scope))
    return stmt


@bp.get("/")
def home():
    return redirect(url_for("organizations.index"))


@bp.get("/organizations")
def index():
    organizations = db.session.scalars(visible_organizations()).all()
    return render_template("organizations/index.html", organizations=organizations, tenancy=tenancy())
