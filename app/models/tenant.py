"""Tenant tables: in the main database (shared mode) and in every dedicated database.

Every query on them filters by "organizationId", in both modes (app/tenancy/scoping.py);
every index leads with it so that filter is always the cheap part.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, Text, false, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.extensions import db
from app.models.main import created_at, updated_at

# Set in a loader's transaction whose rows carry their totals already (a copy, a restore,
# demo data): the triggers on "Donation" then leave "Donor" and "Campaign" totals alone.
SKIP_GIVING_STATS = "SET LOCAL donor_stats.skip = 'on'"
# Set by a move's own bulk work (a copy, a purge) in its transaction: the move fences do not apply to it.
SKIP_FENCES = "SET LOCAL tenant_fence.skip = 'on'"
SKIP_GIVING_STATS_OPTION = "-c donor_stats.skip=on"  # the same for a whole session (pg_restore)


def skip_giving_stats(conn) -> None:
    """conn: a psycopg connection or cursor, inside the loader's transaction."""
    conn.execute(SKIP_GIVING_STATS)


class TenantTable:
    """What every tenant table shares: a text id, its "organizationId", and the unique
    ("organizationId", id) index that scoped lookups and moves walk. A table's own
    indexes go in __indexes__."""

    __indexes__: tuple = ()

    # First, as in the tables the migrations create (copies and checksums read columns in this order).
    id: Mapped[str] = mapped_column(Text, primary_key=True, sort_order=-2)
    organization_id: Mapped[str] = mapped_column("organizationId", Text, nullable=False, sort_order=-1)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (*cls.__indexes__, Index(f"ix_{cls.__tablename__}_org_id", "organizationId", "id", unique=True))


class Campaign(TenantTable, db.Model):
    __tablename__ = "Campaign"
    __indexes__ = (Index("ix_Campaign_org_name", "organizationId", "name"),)

    name: Mapped[str] = mapped_column(Text, nullable=False)
    goal: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    start_date: Mapped[date | None] = mapped_column("startDate", Date)
    end_date: Mapped[date | None] = mapped_column("endDate", Date)
    created_at: Mapped[datetime] = created_at()
    # Maintained by triggers on "Donation" (migration f3c1d5a7b920); never written by the console.
    raised_total: Mapped[Decimal] = mapped_column("raisedTotal", Numeric(14, 2), nullable=False, server_default="0")
    gift_count: Mapped[int] = mapped_column("giftCount", Integer, nullable=False, server_default="0")
    donor_count: Mapped[int] = mapped_column("donorCount", Integer, nullable=False, server_default="0")


class Donor(TenantTable, db.Model):
    __tablename__ = "Donor"
    __indexes__ = (
        Index("ix_Donor_org_lastName", "organizationId", "lastName", "id"),
        Index("ix_Donor_org_createdAt", "organizationId", "createdAt", "id"),
        Index("ix_Donor_org_email", "organizationId", "email"),
        Index("ix_Donor_org_lifetimeTotal", "organizationId", "lifetimeTotal", "id"),
        Index("ix_Donor_org_lastGiftDate", "organizationId", "lastGiftDate"),
    )

    first_name: Mapped[str] = mapped_column("firstName", Text, nullable=False)
    last_name: Mapped[str] = mapped_column("lastName", Text, nullable=False)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    address_line1: Mapped[str | None] = mapped_column("addressLine1", Text)
    address_line2: Mapped[str | None] = mapped_column("addressLine2", Text)
    city: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column("postalCode", Text)
    country: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Maintained by triggers on "Donation" (migration d2b8e61f4c07); never written by the console.
    lifetime_total: Mapped[Decimal] = mapped_column("lifetimeTotal", Numeric(14, 2), nullable=False, server_default="0")
    gift_count: Mapped[int] = mapped_column("giftCount", Integer, nullable=False, server_default="0")
    last_gift_date: Mapped[date | None] = mapped_column("lastGiftDate", Date)


class Donation(TenantTable, db.Model):
    __tablename__ = "Donation"
    __indexes__ = (
        Index("ix_Donation_org_donor_date", "organizationId", "donorId", "date"),
        Index("ix_Donation_org_campaign_donor", "organizationId", "campaignId", "donorId"),
        Index("ix_Donation_org_date", "organizationId", "date"),
    )

    donor_id: Mapped[str] = mapped_column("donorId", ForeignKey("Donor.id", ondelete="CASCADE"), nullable=False)
    campaign_id: Mapped[str | None] = mapped_column("campaignId", ForeignKey("Campaign.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(Text, nullable=False, server_default="USD")
    date: Mapped[date] = mapped_column(Date, nullable=False)
    method: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class DonorPreference(TenantTable, db.Model):
    __tablename__ = "DonorPreference"
    __indexes__ = (Index("ix_DonorPreference_org_donor", "organizationId", "donorId", unique=True),)

    donor_id: Mapped[str] = mapped_column("donorId", ForeignKey("Donor.id", ondelete="CASCADE"), nullable=False)
    email_opt_in: Mapped[bool] = mapped_column("emailOptIn", Boolean, nullable=False, server_default="false")
    sms_opt_in: Mapped[bool] = mapped_column("smsOptIn", Boolean, nullable=False, server_default="false")
    mail_opt_in: Mapped[bool] = mapped_column("mailOptIn", Boolean, nullable=False, server_default="false")
    phone_opt_in: Mapped[bool] = mapped_column("phoneOptIn", Boolean, nullable=False, server_default="false")
    frequency: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at()


class TenantFence(db.Model):
    """An organization whose rows moved away from this database: triggers on the four tenant
    tables refuse any write of its rows here (SQLSTATE 55000; migration b7e2c9d4a1f3)."""

    __tablename__ = "TenantFence"

    organization_id: Mapped[str] = mapped_column("organizationId", Text, primary_key=True)
    moved_at: Mapped[datetime] = mapped_column(
        "movedAt", DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    moved_to: Mapped[str | None] = mapped_column("movedTo", Text)  # masked, never a password


class TenantCapture(db.Model):
    """An organization whose move away from this database is under way: its writes here are
    captured into "TenantChange" (and held at cutover) by the tenant tables' triggers."""

    __tablename__ = "TenantCapture"

    organization_id: Mapped[str] = mapped_column("organizationId", Text, primary_key=True)
    started_at: Mapped[datetime] = mapped_column("startedAt", DateTime(timezone=True), server_default=func.now())
    moving_to: Mapped[str | None] = mapped_column("movingTo", Text)  # masked
    # The target's indexes and foreign keys, set aside while an empty target is bulk-loaded (JSON).
    deferred_ddl: Mapped[str | None] = mapped_column("deferredDdl", Text)


class TenantChange(db.Model):
    """One row of a captured organization that a statement inserted, updated or deleted."""

    __tablename__ = "TenantChange"
    __table_args__ = (Index("ix_TenantChange_org_applied_id", "organizationId", "applied", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[str] = mapped_column("organizationId", Text, nullable=False)
    table: Mapped[str] = mapped_column("table", Text, nullable=False)
    row_id: Mapped[str] = mapped_column("rowId", Text, nullable=False)
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())


# Dependency order: parents first (copies, truncations in reverse).
TENANT_MODELS = (Campaign, Donor, DonorPreference, Donation)
