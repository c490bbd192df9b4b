"""Audit events: who did what to which organization. Callers pass masked text only."""

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import create_engine, insert

from app.extensions import db
from app.logging_setup import mask_credentials
from app.models import AuditEvent
from app.pooling import ping_when_idle

READ = "tenant.read"  # one row per tenant page view: kept apart (partitioned) and kept for less time

# Column keys by attribute name, for the Core insert of record_read().
COLUMN_KEYS = {attr.key: attr.columns[0].key for attr in AuditEvent.__mapper__.column_attrs}
INSERT_EVENT = insert(AuditEvent.__table__)


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


def record(
    action: str,
    *,
    org_id: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
    actor=None,
    commit: bool = True,
) -> AuditEvent:
    event = AuditEvent(**_values(action, org_id, outcome, detail, actor))
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def record_read(action: str, *, org_id: str, outcome: str, detail: str) -> None:
    """One row per tenant page view, the busiest writer of this table.

    Written on a connection of its own (see init_app), so the request's session keeps
    the signed-in admin and the organization loaded rather than expiring them with a
    commit. The row is in the table before the page is served.
    """
    values = _values(action, org_id, outcome, detail, None)
    engine = current_app.extensions["audit.reads"] or db.engine
    with engine.begin() as connection:
        connection.execute(INSERT_EVENT, {COLUMN_KEYS[key]: value for key, value in values.items()})


def init_app(app: Flask) -> None:
    """On PostgreSQL, tenant-read rows get their own small pool of autocommit connections
    with synchronous_commit off: one round trip per row, without waiting for the WAL
    flush (bench/README.md has the figures). Only a crash of the database server itself within a
    fraction of a second could lose such a row; changes (URLs, moves, exports) keep the
    fully durable record() above."""
    url, options = app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    engine = None
    if url.startswith("postgresql"):  # the main engine's options, and these
        connect_args = {
            **options.get("connect_args", {}),
            "options": "-c synchronous_commit=off",
            "application_name": "tenant-console-audit",
        }
        engine = ping_when_idle(
            create_engine(url, **{**options, "connect_args": connect_args}, isolation_level="AUTOCOMMIT")
        )
    app.extensions["audit.reads"] = engine
