"""Read-only donor pages: GET only, on the organization's read-only tenant session."""

from flask import abort, g, render_template, request
from flask_babel import gettext as _

from app import audit
from app.csv_export import csv_response
from app.donors import bp
from app.donors.browse import donor_page
from app.donors.cursors import BadRequest
from app.donors.export import donor_csv
from app.donors.forms import DonorListForm
from app.donors.profile import campaign_summaries, donor_with_gifts, yearly_totals
from app.errors.responses import error_response
from app.tenancy.hooks import reads_tenant_data

reads_tenant_data(bp)


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest):
    return error_response(400, str(exc))


@bp.get("/organizations/<org_id>/donors")
def index():
    form = DonorListForm.from_query_or_400()
    filters = form.filters()
    page = donor_page(g.tenant_session, filters, form.cursor.data)
    return render_template("donors/index.html", form=form, filters=filters, page=page)


@bp.get("/organizations/<org_id>/donors.csv")
def export():
    filters = DonorListForm.from_query_or_400().filters()
    if g.tenant_route.problem is not None:  # a file must never hold the shared database's rows instead
        raise g.tenant_route.problem
    shown = ", ".join(f"{name}={value}" for name, value in filters.items()) or "none"
    audit.record("donors.export", org_id=g.org.id, detail=f"{g.tenant_route.target}; filters: {shown}")
    session = g.tenant_session

    def lines():
        try:
            yield from donor_csv(session, filters)
        finally:  # end the read transaction as soon as the last row is out, not when the client hangs up
            session.close()

    return csv_response(lines(), f"{g.org.id}-donors.csv")


@bp.get("/organizations/<org_id>/donors/<donor_id>")
def detail(donor_id: str):
    cursor = request.args.get("cursor")
    donor, gifts = donor_with_gifts(g.tenant_session, donor_id, cursor)
    if donor is None:  # another organization's donor is a 404 too
        abort(404, description=_("Donor not found"))
    return render_template(
        "donors/detail.html", donor=donor, gifts=gifts, years=yearly_totals(g.tenant_session, donor.id, gifts, cursor)
    )


@bp.get("/organizations/<org_id>/campaigns")
def campaigns():
    return render_template("donors/campaigns.html", campaigns=campaign_summaries(g.tenant_session))
