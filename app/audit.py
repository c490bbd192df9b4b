"""Audit events: who did what to which organization. Callers pass masked text only."""
from flask import has_request_context, request
from flask_login import current_user

from app.extensions import db
from app.logging_setup import mask_credentials
from app.models import AuditEvent


def record(action: str, *, org_id: str | None = None, outcome: str = "ok", detail: str | None = None,
           actor=None, commit: bool = True) -> AuditEvent:
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        action=action,
        organization_id=org_id,
        outcome=outcome,
        # Belt and braces: whatever a caller passes, a URL password never reaches the row.
        detail=mask_credentials(detail) if detail else None,
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    return event
