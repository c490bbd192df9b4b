"""/audit: the append-only audit log, for owners. No route here or anywhere deletes a row."""

from datetime import UTC, datetime, time

from flask import render_template
from flask_login import current_user
from sqlalchemy import Select, select

from app.audit_log import bp
from app.audit_log.forms import AuditFilterForm
from app.csv_export import csv_lines, csv_response
from app.extensions import db
from app.models import AuditEvent, Organization
from app.organizations.service import visible_organizations
from app.security import require_owner

PAGE_SIZE = 100
CHOICES = 1000
CSV_COLUMNS = ("id", "createdAt", "actorEmail", "organizationId", "action", "outcome", "detail", "ip")


bp.before_request(require_owner)


def filtered() -> tuple[AuditFilterForm, Select]:
    form = AuditFilterForm.from_query_or_400()
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    scope = current_user.organization_scope
    if scope:  # an owner limited to some organizations sees their events only
        stmt = stmt.where(AuditEvent.organization_id.in_(scope))
    if form.organization.data:
        stmt = stmt.where(AuditEvent.organization_id == form.organization.data.strip())
    if form.admin.data:
        stmt = stmt.where(AuditEvent.actor_email == form.admin.data.strip().lower())
    if form.action.data:
        stmt = stmt.where(AuditEvent.action == form.action.data.strip())
    if form.since.data:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(form.since.data, time.min, UTC))
    if form.until.data:
        stmt = stmt.where(AuditEvent.created_at <= datetime.combine(form.until.data, time.max, UTC))
    return form, stmt


@bp.get("/audit")
def index():
    form, stmt = filtered()
    if form.before.data:
        stmt = stmt.where(AuditEvent.id < form.before.data)
    events = db.session.scalars(stmt.limit(PAGE_SIZE + 1)).all()
    older = events[PAGE_SIZE - 1].id if len(events) > PAGE_SIZE else None
    filters = form.filters()
    return render_template(
        "audit_log/index.html",
        form=form,
        events=events[:PAGE_SIZE],
        older=older,
        filters=filters,
        organizations=organization_choices(),
    )


def organization_choices() -> list[tuple[str, str]] | None:
    """The organizations to pick from (those in the admin's scope); None past CHOICES, where
    a list would weigh more than the page: the field then takes an id as typed."""
    rows = db.session.execute(
        visible_organizations().with_only_columns(Organization.id, Organization.name).limit(CHOICES + 1)
    ).all()
    return None if len(rows) > CHOICES else [(row.id, row.name) for row in rows]


@bp.get("/audit.csv")
def export():
    _, stmt = filtered()

    def rows():
        for batch in db.session.scalars(stmt.execution_options(yield_per=1000)).partitions():
            yield [
                [e.id, e.created_at, e.actor_email, e.organization_id, e.action, e.outcome, e.detail, e.ip]
                for e in batch
            ]

    return csv_response(csv_lines(CSV_COLUMNS, rows()), "audit.csv")
