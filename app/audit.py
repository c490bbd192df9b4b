"""Audit events: who did what to which organization. Callers pass masked text only."""
from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from app.extensions import db
from app.logging_setup import mask_credentials
from app.models import AuditEvent


def _values(action: str, org_id: str | None, outcome: str, detail: str | None, actor) -> dict:
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    return dict(
        action=action,
        organization_id=org_id,
        outcome=outcome,
        # Belt and braces: whatever a caller passes, a URL password never reaches the row.
        detail=mask_credentials(detail) if detail else None,
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        ip=request.remote_addr if has_request_context() else None,
    )


def record(action: str, *, org_id: str | None = None, outcome: str = "ok", detail: str | None = None,
           actor=None, commit: bool = True) -> AuditEvent:
    event = AuditEvent(**_values(action, org_id, outcome, detail, actor))
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def record_read(action: str, *, org_id: str, outcome: str, detail: str) -> None:
    """One row per tenant page view, the busiest writer of this table.

    Written on its own connection, so the request's session (the signed-in admin, the
    organization) is not expired by a commit and loaded again, and committed without
    waiting for the WAL flush: the row is written before the page is served, and only a
    crash of the database server itself within a fraction of a second could lose it.
    Changes (URLs, moves, exports) keep the fully durable record() above.
    """
    values = _values(action, org_id, outcome, detail, None)
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        connection.execute(insert(AuditEvent).values(**values))
