"""One donor (profile, preferences, gifts by keyset, yearly totals) and the campaigns page.

Like the list, every statement starts from scoped() and is run through the session,
which binds its own organization.
"""

from collections import namedtuple
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Date, Select, and_, bindparam, extract, func, tuple_

from app.donors.cursors import decode_cursor, encode_cursor
from app.models import Campaign, Donation, Donor, DonorPreference
from app.tenancy.scoping import TenantSession, scoped

GIFTS_PAGE_SIZE = 25


@dataclass
class GiftPage:
    rows: list
    next_cursor: str | None


@lru_cache(maxsize=2)
def _gifts(after_key: bool) -> Select:
    stmt = (
        scoped(
            Donation,
            Donation.id,
            Donation.date,
            Donation.amount,
            Donation.currency,
            Donation.method,
            Campaign.name.label("campaign"),
        )
        .outerjoin(Campaign, and_(Campaign.id == Donation.campaign_id, Campaign.organization_id == bindparam("org_id")))
        .where(Donation.donor_id == bindparam("donor_id"))
    )
    if after_key:
        stmt = stmt.where(
            tuple_(Donation.date, Donation.id) < tuple_(bindparam("key_date", type_=Date), bindparam("key_id"))
        )
    return stmt.order_by(Donation.date.desc(), Donation.id.desc()).limit(GIFTS_PAGE_SIZE + 1)


YearTotal = namedtuple("YearTotal", "year total gifts")


def yearly_totals(session: TenantSession, donor_id: str, gifts: GiftPage, cursor: str | None) -> list:
    """Gifts and amount per year, newest first. When the first page of gifts holds all of
    them (most donors give a few times), they are summed here instead of asked again."""
    if cursor is None and gifts.next_cursor is None:
        years: dict[int, YearTotal] = {}
        for gift in gifts.rows:
            seen = years.get(gift.date.year, YearTotal(gift.date.year, Decimal(0), 0))
            years[gift.date.year] = YearTotal(seen.year, seen.total + gift.amount, seen.gifts + 1)
        return sorted(years.values(), reverse=True)
    return session.rows(YEARLY_TOTALS, {"donor_id": donor_id}).all()


_year = extract("year", Donation.date).label("year")
YEARLY_TOTALS = (
    scoped(Donation, _year, func.sum(Donation.amount).label("total"), func.count().label("gifts"))
    .where(Donation.donor_id == bindparam("donor_id"))
    .group_by(_year)
    .order_by(_year.desc())
)


PROFILE_COLUMNS = (
    Donor.id,
    Donor.first_name,
    Donor.last_name,
    Donor.email,
    Donor.phone,
    Donor.address_line1,
    Donor.address_line2,
    Donor.city,
    Donor.state,
    Donor.postal_code,
    Donor.country,
    Donor.created_at,
    DonorPreference.id.label("preference_id"),
    DonorPreference.email_opt_in,
    DonorPreference.sms_opt_in,
    DonorPreference.mail_opt_in,
    DonorPreference.phone_opt_in,
    DonorPreference.frequency,
)


PROFILE = (
    scoped(Donor, *PROFILE_COLUMNS)
    .outerjoin(
        DonorPreference,
        and_(DonorPreference.donor_id == Donor.id, DonorPreference.organization_id == bindparam("org_id")),
    )
    .where(Donor.id == bindparam("donor_id"))
)


def donor_with_gifts(session: TenantSession, donor_id: str, cursor: str | None) -> tuple:
    """(the donor with its preferences, a page of its gifts newest first with campaign
    names), in one round trip; the donor is None for an unknown id or another
    organization's donor. preference_id is None without preferences. Gifts keyset on (date, id)."""
    params = {"donor_id": donor_id}
    if cursor:
        _, (params["key_date"], params["key_id"]) = decode_cursor("gifts", cursor, "date", (date.fromisoformat, str))
    profile, rows = session.rows_pipelined((PROFILE, {"donor_id": donor_id}), (_gifts(bool(cursor)), params))
    next_cursor = None
    if len(rows) > GIFTS_PAGE_SIZE:
        rows = rows[:GIFTS_PAGE_SIZE]
        next_cursor = encode_cursor("gifts", "date", "next", (rows[-1].date, rows[-1].id))
    return (profile[0] if profile else None), GiftPage(rows, next_cursor)


CAMPAIGNS = scoped(
    Campaign,
    Campaign.id,
    Campaign.name,
    Campaign.goal,
    Campaign.start_date,
    Campaign.end_date,
    Campaign.raised_total.label("raised"),
    Campaign.gift_count.label("gifts"),
    Campaign.donor_count.label("donors"),
).order_by(Campaign.start_date.desc().nulls_last(), Campaign.name)


def campaign_summaries(session: TenantSession) -> list:
    """Each campaign with its totals, which triggers keep on the row (migration f3c1d5a7b920)."""
    return session.rows(CAMPAIGNS).all()
