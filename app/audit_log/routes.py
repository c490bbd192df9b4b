"""/audit: the append-only audit log, for owners. No route here or anywhere deletes a row."""
import csv
import io
from datetime import datetime, time, timedelta, timezone

from flask import Response, abort, render_template, request, stream_with_context
from flask_login import current_user
from sqlalchemy import Select, select

from app.audit_log import bp
from app.audit_log.forms import AuditFilterForm
from app.extensions import db
from app.models import AuditEvent

PAGE_SIZE = 100
CSV_COLUMNS = ("id", "createdAt", "actorEmail", "organizationId", "action", "outcome", "detail", "ip")


@bp.before_request
def owners_only():
    if not current_user.is_owner:
        abort(403)


def filtered() -> tuple[AuditFilterForm, Select]:
    form = AuditFilterForm.from_query_or_400()
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if form.organization.data:
        stmt = stmt.where(AuditEvent.organization_id == form.organization.data.strip())
    if form.admin.data:
        stmt = stmt.where(AuditEvent.actor_email == form.admin.data.strip().lower())
    if form.action.data:
        stmt = stmt.where(AuditEvent.action == form.action.data.strip())
    if form.since.data:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(form.since.data, time.min, timezone.utc))
    if form.until.data:
        stmt = stmt.where(AuditEvent.created_at < datetime.combine(form.until.data + timedelta(days=1), time.min,
                                                                   timezone.utc))
    return form, stmt


@bp.get("/audit")
def index():
    form, stmt = filtered()
    if form.before.data:
        stmt = stmt.where(AuditEvent.id < form.before.data)
    events = db.session.scalars(stmt.limit(PAGE_SIZE + 1)).all()
    older = events[PAGE_SIZE - 1].id if len(events) > PAGE_SIZE else None
    filters = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template("audit_log/index.html", form=form, events=events[:PAGE_SIZE], older=older, filters=filters)


@bp.get("/audit.csv")
def export():
    _, stmt = filtered()

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for event in db.session.scalars(stmt.execution_options(yield_per=1000)):
            writer.writerow([event.id, event.created_at.isoformat(), event.actor_email, event.organization_id,
                             event.action, event.outcome, event.detail, event.ip])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
