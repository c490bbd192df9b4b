"""Control-plane tables: they live in the main database only.

Names are the guide's (Prisma style, quoted identifiers), so its SQL runs verbatim.
"""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

ROLES = ("owner", "viewer")


def created_at() -> Mapped[datetime]:
    return mapped_column("createdAt", DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_at() -> Mapped[datetime]:
    return mapped_column(
        "updatedAt", DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Organization(db.Model):
    __tablename__ = "Organization"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    # null: shared mode. Otherwise a plain URL, env:NAME or enc:v1:<token> (app/tenancy/urls.py).
    database_url: Mapped[str | None] = mapped_column("databaseUrl", Text, nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class AdminIdentity(UserMixin):
    """What Flask-Login and the pages ask of an admin: the ORM row below, or the
    read-only SignedInAdmin each console request loads (app/security.py)."""

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive admins
        return self.active

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def get_id(self) -> str:
        # The session remembers the generation it was made in: bumping it ends the session.
        return f"{self.id}:{self.session_generation}"


class AdminUser(AdminIdentity, db.Model):
    """Someone who signs in to the console (not an organization's member)."""

    __tablename__ = "AdminUser"
    __table_args__ = (CheckConstraint("role IN ('owner', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column("passwordHash", Text, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, server_default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[datetime] = created_at()
    last_login_at: Mapped[datetime | None] = mapped_column("lastLoginAt", DateTime(timezone=True))
    # Bumped by sign-out, a password reset and a lifted lock: every older session ends.
    session_generation: Mapped[int] = mapped_column("sessionGeneration", Integer, nullable=False, server_default="0")

    scoped_organizations: Mapped[list["AdminOrganization"]] = relationship(
        cascade="all, delete-orphan",
        lazy="joined",  # one query loads the admin and its scope
    )

    @property
    def organization_scope(self) -> frozenset[str]:
        """Organization ids this admin may see; empty means all."""
        return frozenset(link.organization_id for link in self.scoped_organizations)


class AdminOrganization(db.Model):
    """Limits an admin to some organizations; an admin with no rows sees them all."""

    __tablename__ = "AdminOrganization"

    admin_id: Mapped[int] = mapped_column("adminId", ForeignKey("AdminUser.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        "organizationId", ForeignKey("Organization.id", ondelete="CASCADE"), primary_key=True
    )


class User(db.Model):
    """A member of an organization (the platform's users, not console admins)."""

    __tablename__ = "User"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        "organizationId", ForeignKey("Organization.id", ondelete="CASCADE"), index=True, nullable=False
    )
    email: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class ApiToken(db.Model):
    """A bearer token for /api; only the SHA-256 of the token is stored."""

    __tablename__ = "ApiToken"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_id: Mapped[int] = mapped_column(
        "adminId", ForeignKey("AdminUser.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    token_hash: Mapped[str] = mapped_column("tokenHash", String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column("lastUsedAt", DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt", DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column("revokedAt", DateTime(timezone=True))

    admin: Mapped[AdminUser] = relationship(lazy="joined")


class AuditEvent(db.Model):
    """Append-only record of who did what to which organization. Never holds a password.

    On PostgreSQL the table is partitioned by kind (tenant reads apart) and by month
    (app/audit_log/partitions.py); the action indexes cover the non-read events there."""

    __tablename__ = "AuditEvent"
    __table_args__ = (
        Index("ix_AuditEvent_org_id", "organizationId", "id"),
        Index("ix_AuditEvent_org_action_id", "organizationId", "action", "id"),
        Index("ix_AuditEvent_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = created_at()
    actor_id: Mapped[int | None] = mapped_column("actorId", ForeignKey("AdminUser.id", ondelete="SET NULL"))
    actor_email: Mapped[str | None] = mapped_column("actorEmail", Text)
    organization_id: Mapped[str | None] = mapped_column("organizationId", Text)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    outcome: Mapped[str] = mapped_column(Text, nullable=False, server_default="ok")
    detail: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)


class OperationJob(db.Model):
    """A fleet operation started from a page and run by the worker (flask --app wsgi worker);
    the page follows its state and progress here."""

    __tablename__ = "OperationJob"
    __table_args__ = (Index("ix_OperationJob_org_created", "organizationId", "createdAt"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    organization_id: Mapped[str] = mapped_column("organizationId", Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)  # move | abort | provision
    target: Mapped[str | None] = mapped_column(Text)  # stored like "databaseUrl" (sealed); None: shared
    target_label: Mapped[str] = mapped_column("targetLabel", Text, nullable=False)  # masked
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default="queued")  # queued running done failed
    phase: Mapped[str | None] = mapped_column(Text)
    copied: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    backlog: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    last_pause_ms: Mapped[float | None] = mapped_column("lastPauseMs", Float)
    message: Mapped[str | None] = mapped_column(Text)
    actor_email: Mapped[str | None] = mapped_column("actorEmail", Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
