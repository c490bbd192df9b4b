from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select, text

from app import audit
from app.extensions import db
from app.like import ESCAPE, contains_pattern
from app.models import AuditEvent, Donation, Donor, Organization
from app.operations import jobs
from app.operations.transfer import TransferError
from app.organizations import bp
from app.organizations.forms import AbortMoveForm, ClearForm, DatabaseUrlForm, MoveForm, ProvisionForm
from app.organizations.service import (
    ChangeRefused,
    clear_database_url,
    save_database_url,
    test_connection,
    visible_organizations,
)
from app.security import connectivity_test_limit, require_owner
from app.tenancy.counts import count_or_estimate
from app.tenancy.hooks import serves_organizations
from app.tenancy.schema import check_schema
from app.tenancy.scoping import scoped_select
from app.tenancy.service import TenantUnavailable, tenancy
from app.tenancy.targets import DnsFailure
from app.tenancy.urls import InvalidDatabaseUrl, without_password

serves_organizations(bp)

PAGE_SIZE = 50
JOB_NAMES = {"move": _l("The move"), "abort": _l("The abort"), "provision": _l("The provisioning")}
CHECK_ACTIONS = ("database.test", "database.save", "database.clear")
OPERATION_ACTIONS = ("tenants.move", "tenants.migrate", "tenants.backup")


# The newest event id per organization and action, planned once: one index lookup per pair
# (ix_AuditEvent_org_action_id). 150 scalar subqueries cost PostgreSQL 250 ms to plan
# across the monthly partitions (bench/README.md).
NEWEST_PER_PAIR = text(
    """SELECT (SELECT max(e.id) FROM "AuditEvent" e WHERE e."organizationId" = o.org AND e.action = a.act)
       FROM unnest(CAST(:orgs AS text[])) AS o(org) CROSS JOIN unnest(CAST(:actions AS text[])) AS a(act)"""
)


def newest_ids(org_ids: list[str], actions: tuple[str, ...]) -> list[int]:
    if db.session.get_bind().dialect.name == "postgresql":
        ids = db.session.scalars(NEWEST_PER_PAIR, {"orgs": org_ids, "actions": list(actions)})
    else:  # SQLite (development): the same lookups, grouped
        ids = db.session.scalars(
            select(func.max(AuditEvent.id))
            .where(AuditEvent.organization_id.in_(org_ids), AuditEvent.action.in_(actions))
            .group_by(AuditEvent.organization_id, AuditEvent.action)
        )
    return [event_id for event_id in ids if event_id]


def latest_events(org_ids: list[str], actions: tuple[str, ...], per_action: bool = False) -> list[AuditEvent]:
    """The newest event of each organization among actions (or of each action, with per_action);
    the time does not grow with an organization's history, however many reads or tests it holds."""
    ids = newest_ids(org_ids, actions) if org_ids else []
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.id.in_(ids), AuditEvent.action.in_(actions))  # the action lets PostgreSQL skip the reads
        .order_by(AuditEvent.id.desc())
    ).all()
    if per_action:
        return events
    return list({event.organization_id: event for event in reversed(events)}.values())


def latest_checks(org_ids: list[str]) -> dict[str, AuditEvent]:
    """The last test, save or clear of each organization (a clear ends what a test said)."""
    return {
        event.organization_id: event
        for event in latest_events(org_ids, CHECK_ACTIONS)
        if event.action != "database.clear"
    }


@bp.get("/")
def home():
    return redirect(url_for("organizations.index"))


@bp.get("/organizations")
def index():
    q = request.args.get("q", "").strip()[:200]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = visible_organizations()
    if q:
        pattern = contains_pattern(q)  # trigram indexes serve both (ix_Organization_name_trgm, _id_trgm)
        stmt = stmt.where(
            or_(Organization.name.ilike(pattern, escape=ESCAPE), Organization.id.ilike(pattern, escape=ESCAPE))
        )
    rows = db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    organizations = rows[:PAGE_SIZE]
    state = tenancy()
    return render_template(
        "organizations/index.html",
        organizations=organizations,
        q=q,
        page=page,
        has_next=len(rows) > PAGE_SIZE,
        targets={org.id: state.describe(org) for org in organizations},
        checks=latest_checks([org.id for org in organizations]),
        main_schema=check_schema(db.session.connection()),  # what serves the shared organizations
        tenancy=state,
    )


def render_detail(form=None, probe=None, status=200, typed: str = ""):
    """typed: what the owner typed in the URL field, given back without its password."""
    org = g.org
    state = tenancy()
    counts, problem = {}, None
    try:
        session, route = state.open_session(org)
        g.tenant_route = route
        with session:
            counts = {
                name: count_or_estimate(session, scoped_select(session, model))
                for name, model in (("donors", Donor), ("donations", Donation))
            }
    except TenantUnavailable as exc:
        problem = exc
    events = db.session.scalars(  # changes, tests and operations; the reads are on /audit
        select(AuditEvent)
        .where(AuditEvent.organization_id == org.id, AuditEvent.action != audit.READ)
        .order_by(AuditEvent.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "organizations/detail.html",
        org=org,
        target=state.describe(org),
        active=state.uses_dedicated(org),
        counts=counts,
        problem=problem,
        events=events,
        form=form or DatabaseUrlForm(),
        typed_url=without_password(typed) if typed else ("", bool(form and form.password.data)),
        probe=probe,
        clear_form=ClearForm(),
        check=latest_checks([org.id]).get(org.id),
        tenancy=state,
        operations={e.action: e for e in latest_events([org.id], OPERATION_ACTIONS, per_action=True)},
        move_form=MoveForm(),
        provision_form=ProvisionForm() if current_app.config["TENANT_PROVISION_SERVER_URL"] else None,
        abort_form=AbortMoveForm(),
        job=jobs.latest(org.id),
    ), status


@bp.get("/organizations/<org_id>")
def detail():
    return render_detail()


@bp.post("/organizations/<org_id>/database/test")
@connectivity_test_limit
def test():
    form = DatabaseUrlForm()
    text = form.typed_url()
    if text:
        require_owner()  # viewers may test the stored URL only
    if not form.validate():
        abort(400, description=_("Check what was typed: %(problems)s.", problems=form.problems()))
    probe = test_connection(g.org, text)
    if request.accept_mimetypes.best == "application/json":
        return {"success": True, "data": probe.as_json() | {"hint": probe.hint, "target": probe.target}}
    return render_detail(form, probe=probe, status=200 if probe.ok else 422, typed=form.database_url.data)


@bp.post("/organizations/<org_id>/database")
@connectivity_test_limit
def save():
    require_owner()
    form = DatabaseUrlForm()
    if not form.validate() or not form.typed_url():
        flash(
            _("Enter a database URL (or its host and database) to save, or use Clear to return to shared mode."),
            "warning",
        )
        return redirect(url_for("organizations.detail"))
    try:
        probe = save_database_url(g.org, form.typed_url(), force=form.force.data)
    except ChangeRefused as refused:  # the field keeps what was typed, so "Save even though" needs no retyping
        return render_detail(form, probe=refused.probe, status=422, typed=form.database_url.data)
    target = tenancy().describe(g.org).masked
    if not tenancy().uses_dedicated(g.org):  # saved, but not serving: say so rather than "now uses"
        message = _(
            "Saved %(target)s. ENABLE_MULTI_DATABASE is off, so the main database still serves %(name)s.",
            target=target,
            name=g.org.name,
        )
    elif probe.ok:
        message = _("Saved. %(name)s now uses %(target)s.", name=g.org.name, target=target)
    else:
        message = _("Saved although the test failed (%(code)s).", code=probe.code)
    flash(message, "success" if probe.ok else "warning")
    return redirect(url_for("organizations.detail"))


@bp.route("/organizations/<org_id>/database/clear", methods=["GET", "POST"])
def clear():
    require_owner()
    form = ClearForm()
    if form.validate_on_submit():
        if not form.confirm.data:
            flash(_("Tick the confirmation to return to shared mode."), "warning")
        else:
            clear_database_url(g.org)
            flash(_("%(name)s is back in shared mode: its pages read the main database.", name=g.org.name), "success")
            return redirect(url_for("organizations.detail"))
    return render_template("organizations/clear.html", org=g.org, form=form, target=tenancy().describe(g.org))


@bp.post("/organizations/<org_id>/move")
def move():
    """Queue an online move of the organization; the worker runs it, this page follows it."""
    require_owner()
    form = MoveForm()
    target = (form.target_url.data or "").strip() if form.validate() else ""
    if not target and not form.to_shared.data:
        flash(_("Enter the URL of the database to move to, or tick 'Back to the shared database'."), "warning")
        return redirect(url_for("organizations.detail"))
    return queue_job("move", None if form.to_shared.data else target)


@bp.post("/organizations/<org_id>/provision")
def provision():
    """Queue the provisioning of a dedicated database (TENANT_PROVISION_SERVER_URL) and the move onto it."""
    require_owner()
    ProvisionForm().validate()  # CSRF is checked by CSRFProtect; the form has no field to read
    return queue_job("provision", None)


@bp.post("/organizations/<org_id>/move/abort")
def abort_move():
    require_owner()
    form = AbortMoveForm()
    return queue_job("abort", (form.target_url.data or "").strip() if form.validate() else None)


def queue_job(kind: str, target: str | None):
    try:
        job = jobs.start(g.org, kind, target or None, current_user.email)
    except (InvalidDatabaseUrl, DnsFailure, TransferError, jobs.JobsUnavailable) as exc:
        flash(str(exc), "danger")
    else:
        flash(
            _(
                "%(job)s of %(name)s is queued (job %(id)s); this page follows it.",
                job=JOB_NAMES[kind],
                name=g.org.name,
                id=job.id[:8],
            ),
            "info",
        )
    return redirect(url_for("organizations.detail"))
