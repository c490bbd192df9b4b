"""Donor queries: keyset pages in constant time at any depth, search, filters, totals.

Every statement starts from scoped_select(), so it is filtered by "organizationId" in
shared and in dedicated mode alike; search text is always a bound parameter.
"""
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, and_, exists, extract, func, literal_column, or_, tuple_

from app.models import Campaign, Donation, Donor, DonorPreference
from app.tenancy.counts import Count, count_or_estimate
from app.tenancy.scoping import TenantSession, scoped_select

PAGE_SIZE = 50
GIFTS_PAGE_SIZE = 25
EXACT_COUNT_LIMIT = 10_000
# (columns, descending, how to read a cursor value back)
SORTS = {
    "name": ((Donor.last_name, Donor.id), False, (str, str)),
    "created": ((Donor.created_at, Donor.id), True, (datetime.fromisoformat, str)),
    "total": ((Donor.lifetime_total, Donor.id), True, (Decimal, str)),
}
# The expression of the trigram index (migration a7d31f0c9b42), so the planner can use it.
FULL_NAME = func.lower(Donor.first_name.op("||")(literal_column("' '")).op("||")(Donor.last_name))
LIST_COLUMNS = (Donor.id, Donor.first_name, Donor.last_name, Donor.email, Donor.phone, Donor.city,
                Donor.lifetime_total, Donor.gift_count, Donor.last_gift_date, Donor.created_at)
# Plain tuples for the template: reading 500 fields off SQLAlchemy rows cost more than the query.
DonorRow = namedtuple("DonorRow", [column.key for column in LIST_COLUMNS])


class BadRequest(ValueError):
    """Bad input: shown on a 400 page."""


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def encode_cursor(salt: str, sort: str, direction: str, values) -> str:
    plain = [v.isoformat() if isinstance(v, (date, datetime)) else str(v) for v in values]
    return _serializer(salt).dumps({"s": sort, "d": direction, "k": plain})


def decode_cursor(salt: str, token: str, sort: str, readers) -> tuple[str, tuple]:
    """(direction, key values); BadRequest for anything tampered with or from another sort."""
    try:
        data = _serializer(salt).loads(token)
        if data["s"] != sort or data["d"] not in ("next", "prev") or len(data["k"]) != len(readers):
            raise ValueError
        return data["d"], tuple(read(value) for read, value in zip(readers, data["k"]))
    except (BadSignature, KeyError, TypeError, ValueError, InvalidOperation):
        raise BadRequest("This page link is not valid (it may come from another search); start again from the first page.") from None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(session: TenantSession, filters: dict, columns=LIST_COLUMNS) -> Select:
    stmt = scoped_select(session, Donor, *columns)
    q = (filters.get("q") or "").strip().lower()
    if q:
        email = func.lower(Donor.email).like(_like_escape(q) + "%", escape="\\")
        name = FULL_NAME.like("%" + _like_escape(q) + "%", escape="\\")
        stmt = stmt.where(email if "@" in q else or_(name, email))
    if filters.get("campaign"):
        stmt = stmt.where(exists().where(Donation.organization_id == session.organization_id,
                                         Donation.donor_id == Donor.id, Donation.campaign_id == filters["campaign"]))
    if filters.get("since"):
        stmt = stmt.where(Donor.last_gift_date >= date.fromisoformat(filters["since"]))
    if filters.get("opted_in"):
        stmt = stmt.where(exists().where(DonorPreference.organization_id == session.organization_id,
                                         DonorPreference.donor_id == Donor.id, DonorPreference.email_opt_in))
    return stmt


def ordered(stmt: Select, sort: str, reverse: bool = False) -> Select:
    columns, descending, _ = SORTS[sort]
    return stmt.order_by(*(c.desc() if descending != reverse else c.asc() for c in columns))


@dataclass
class DonorPage:
    rows: list
    total: Count
    next_cursor: str | None
    prev_cursor: str | None


def donor_page(session: TenantSession, filters: dict, cursor: str | None) -> DonorPage:
    sort = filters.get("sort", "name")
    columns, descending, readers = SORTS[sort]
    base = filtered(session, filters)
    direction, key = ("next", None)
    if cursor:
        direction, key = decode_cursor("donors", cursor, sort, readers)
    stmt = base
    if key is not None:
        forward = (direction == "next") != descending  # ascending walk means "greater than"
        stmt = stmt.where(tuple_(*columns) > tuple_(*key) if forward else tuple_(*columns) < tuple_(*key))
    stmt = ordered(stmt, sort, reverse=direction == "prev").limit(PAGE_SIZE + 1)
    rows = [DonorRow._make(row) for row in session.rows(stmt)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if direction == "prev":
        rows.reverse()
    has_next = more if direction == "next" else key is not None
    has_prev = key is not None if direction == "next" else more
    keys = [tuple(getattr(row, c.key) for c in columns) for row in (rows[0], rows[-1])] if rows else None
    return DonorPage(
        rows=rows,
        total=count_or_estimate(session, base, limit=EXACT_COUNT_LIMIT),
        next_cursor=encode_cursor("donors", sort, "next", keys[1]) if rows and has_next else None,
        prev_cursor=encode_cursor("donors", sort, "prev", keys[0]) if rows and has_prev else None,
    )


@dataclass
class GiftPage:
    rows: list
    next_cursor: str | None


def gift_page(session: TenantSession, donor_id: str, cursor: str | None) -> GiftPage:
    """A donor's gifts, newest first, with campaign names; keyset on (date, id)."""
    stmt = (scoped_select(session, Donation, Donation.id, Donation.date, Donation.amount, Donation.currency,
                          Donation.method, Campaign.name.label("campaign"))
            .outerjoin(Campaign, and_(Campaign.id == Donation.campaign_id,
                                      Campaign.organization_id == session.organization_id))
            .where(Donation.donor_id == donor_id))
    if cursor:
        _, key = decode_cursor("gifts", cursor, "date", (date.fromisoformat, str))
        stmt = stmt.where(tuple_(Donation.date, Donation.id) < tuple_(*key))
    rows = session.rows(stmt.order_by(Donation.date.desc(), Donation.id.desc()).limit(GIFTS_PAGE_SIZE + 1)).all()
    next_cursor = None
    if len(rows) > GIFTS_PAGE_SIZE:
        rows = rows[:GIFTS_PAGE_SIZE]
        next_cursor = encode_cursor("gifts", "date", "next", (rows[-1].date, rows[-1].id))
    return GiftPage(rows, next_cursor)


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
    year = extract("year", Donation.date).label("year")
    return session.rows(
        scoped_select(session, Donation, year, func.sum(Donation.amount).label("total"),
                      func.count().label("gifts"))
        .where(Donation.donor_id == donor_id).group_by(year).order_by(year.desc())
    ).all()


PROFILE_COLUMNS = (Donor.id, Donor.first_name, Donor.last_name, Donor.email, Donor.phone, Donor.address_line1,
                   Donor.address_line2, Donor.city, Donor.state, Donor.postal_code, Donor.country, Donor.created_at,
                   DonorPreference.id.label("preference_id"), DonorPreference.email_opt_in, DonorPreference.sms_opt_in,
                   DonorPreference.mail_opt_in, DonorPreference.phone_opt_in, DonorPreference.frequency)


def donor_profile(session: TenantSession, donor_id: str):
    """The donor with its preferences (preference_id is None without any), in one query;
    None for an unknown id or another organization's donor."""
    return session.rows(
        scoped_select(session, Donor, *PROFILE_COLUMNS)
        .outerjoin(DonorPreference, and_(DonorPreference.donor_id == Donor.id,
                                         DonorPreference.organization_id == session.organization_id))
        .where(Donor.id == donor_id)
    ).first()


def campaign_summaries(session: TenantSession) -> list:
    """Each campaign with its totals, which triggers keep on the row (migration f3c1d5a7b920)."""
    return session.rows(
        scoped_select(session, Campaign, Campaign.id, Campaign.name, Campaign.goal, Campaign.start_date,
                      Campaign.end_date, Campaign.raised_total.label("raised"), Campaign.gift_count.label("gifts"),
                      Campaign.donor_count.label("donors"))
        .order_by(Campaign.start_date.desc().nulls_last(), Campaign.name)
    ).all()


def campaign_choices(session: TenantSession) -> list[tuple[str, str]]:
    return [(row.id, row.name) for row in session.rows(
        scoped_select(session, Campaign, Campaign.id, Campaign.name).order_by(Campaign.name))]
