from flask import g, render_template

from app.donors import bp
from app.models import Donor
from app.tenancy.routing import use_tenant
from app.tenancy.scoping import scoped_select

PAGE_SIZE = 50

bp.before_request(use_tenant)


@bp.get("/organizations/<org_id>/donors")
def index():
    stmt = scoped_select(g.tenant, Donor).order_by(Donor.last_name, Donor.id).limit(PAGE_SIZE)
    donors = g.tenant.scalars(stmt).all()
    return render_template("donors/index.html", donors=donors)
