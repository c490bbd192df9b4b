"""Donor queries: keyset pages in constant time at any depth, search, filters, totals.

Every statement starts from scoped(), so it is filtered by "organizationId" in shared
and in dedicated mode alike, and TenantSession.rows() and rows_pipelined() always bind
the session's own organization. Statements are built once per shape (which filters,
which sort, which way) with every value a bound parameter, search text included:
building and cache-keying a statement afresh cost more than running it.
"""
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Date, Select, and_, bindparam, exists, extract, func, literal_column, or_, tuple_

from app.like import ESCAPE, contains_pattern, prefix_pattern
from app.models import Campaign, Donation, Donor, DonorPreference
from app.tenancy.counts import Count, count_or_estimate, explain, plan_rows
from app.tenancy.scoping import TenantSession, scoped

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
EXPORT_COLUMNS = (Donor.id, Donor.first_name, Donor.last_name, Donor.email, Donor.phone, Donor.address_line1,
                  Donor.city, Donor.state, Donor.postal_code, Donor.country, Donor.lifetime_total,
                  Donor.gift_count, Donor.last_gift_date, Donor.created_at)
COLUMN_SETS = {"list": LIST_COLUMNS, "export": EXPORT_COLUMNS}


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


def filtered(filters: dict, columns: str = "list") -> tuple[Select, dict]:
    """The donors matching filters (COLUMN_SETS[columns]), unordered, and its parameters."""
    q = (filters.get("q") or "").strip().lower()
    shape = ("email" if "@" in q else "any") if q else None, bool(filters.get("campaign")), \
        bool(filters.get("since")), bool(filters.get("opted_in"))
    params = {"q_prefix": prefix_pattern(q), "q_inner": contains_pattern(q),
              "campaign": filters.get("campaign"),
              "since": date.fromisoformat(filters["since"]) if filters.get("since") else None}
    return _filtered(shape, columns), params


@lru_cache(maxsize=64)
def _filtered(shape: tuple, columns: str) -> Select:
    search, campaign, since, opted_in = shape
    stmt = scoped(Donor, *COLUMN_SETS[columns])
    if search:
        email = func.lower(Donor.email).like(bindparam("q_prefix"), escape=ESCAPE)
        stmt = stmt.where(email if search == "email" else or_(FULL_NAME.like(bindparam("q_inner"), escape=ESCAPE), email))
    if campaign:
        stmt = stmt.where(exists().where(Donation.organization_id == bindparam("org_id"), Donation.donor_id == Donor.id,
                                         Donation.campaign_id == bindparam("campaign")))
    if since:
        stmt = stmt.where(Donor.last_gift_date >= bindparam("since", type_=Date))
    if opted_in:
        stmt = stmt.where(exists().where(DonorPreference.organization_id == bindparam("org_id"),
                                         DonorPreference.donor_id == Donor.id, DonorPreference.email_opt_in))
    return stmt


def ordered(stmt: Select, sort: str, reverse: bool = False) -> Select:
    columns, descending, _ = SORTS[sort]
    return stmt.order_by(*(c.desc() if descending != reverse else c.asc() for c in columns))


@lru_cache(maxsize=256)
def _page(base: Select, sort: str, keyset: str | None, reverse: bool) -> Select:
    """A page of base: after (keyset "gt") or before ("lt") the bound key, or the first."""
    columns = SORTS[sort][0]
    if keyset:
        key = tuple_(*(bindparam(f"key{n}", type_=column.type) for n, column in enumerate(columns)))
        stmt = base.where(tuple_(*columns) > key if keyset == "gt" else tuple_(*columns) < key)
    else:
        stmt = base
    return ordered(stmt, sort, reverse).limit(PAGE_SIZE + 1)


@dataclass
class DonorPage:
    rows: list
    total: Count
    next_cursor: str | None
    prev_cursor: str | None
    campaigns: list  # (id, name) for the campaign filter


def donor_page(session: TenantSession, filters: dict, cursor: str | None) -> DonorPage:
    sort = filters.get("sort", "name")
    columns, descending, readers = SORTS[sort]
    base, params = filtered(filters)
    direction, key = ("next", None)
    if cursor:
        direction, key = decode_cursor("donors", cursor, sort, readers)
    keyset = None
    if key is not None:
        forward = (direction == "next") != descending  # ascending walk means "greater than"
        keyset = "gt" if forward else "lt"
        params = {**params, **{f"key{n}": value for n, value in enumerate(key)}}
    # The page, the filter's campaigns and the planner's estimate of the total, in one round trip.
    queries = [(_page(base, sort, keyset, direction == "prev"), params), (CAMPAIGN_CHOICES, {})]
    if session.get_bind().dialect.name == "postgresql":
        queries.append((explain(base), params))
    rows, campaigns, *plan = session.rows_pipelined(*queries)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if direction == "prev":
        rows.reverse()
    has_next = more if direction == "next" else key is not None
    has_prev = key is not None if direction == "next" else more
    keys = [tuple(getattr(row, c.key) for c in columns) for row in (rows[0], rows[-1])] if rows else None
    return DonorPage(
        rows=rows,
        total=count_or_estimate(session, base, params, limit=EXACT_COUNT_LIMIT,
                                guess=plan_rows(plan[0][0][0]) if plan else None),
        next_cursor=encode_cursor("donors", sort, "next", keys[1]) if rows and has_next else None,
        prev_cursor=encode_cursor("donors", sort, "prev", keys[0]) if rows and has_prev else None,
        campaigns=[tuple(row) for row in campaigns],
    )


@dataclass
class GiftPage:
    rows: list
    next_cursor: str | None


@lru_cache(maxsize=2)
def _gifts(after_key: bool) -> Select:
    stmt = (scoped(Donation, Donation.id, Donation.date, Donation.amount, Donation.currency, Donation.method,
                   Campaign.name.label("campaign"))
            .outerjoin(Campaign, and_(Campaign.id == Donation.campaign_id, Campaign.organization_id == bindparam("org_id")))
            .where(Donation.donor_id == bindparam("donor_id")))
    if after_key:
        stmt = stmt.where(tuple_(Donation.date, Donation.id) < tuple_(bindparam("key_date", type_=Date), bindparam("key_id")))
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
YEARLY_TOTALS = (scoped(Donation, _year, func.sum(Donation.amount).label("total"), func.count().label("gifts"))
                 .where(Donation.donor_id == bindparam("donor_id")).group_by(_year).order_by(_year.desc()))


PROFILE_COLUMNS = (Donor.id, Donor.first_name, Donor.last_name, Donor.email, Donor.phone, Donor.address_line1,
                   Donor.address_line2, Donor.city, Donor.state, Donor.postal_code, Donor.country, Donor.created_at,
                   DonorPreference.id.label("preference_id"), DonorPreference.email_opt_in, DonorPreference.sms_opt_in,
                   DonorPreference.mail_opt_in, DonorPreference.phone_opt_in, DonorPreference.frequency)


PROFILE = (scoped(Donor, *PROFILE_COLUMNS)
           .outerjoin(DonorPreference, and_(DonorPreference.donor_id == Donor.id,
                                            DonorPreference.organization_id == bindparam("org_id")))
           .where(Donor.id == bindparam("donor_id")))


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


CAMPAIGNS = (scoped(Campaign, Campaign.id, Campaign.name, Campaign.goal, Campaign.start_date, Campaign.end_date,
                    Campaign.raised_total.label("raised"), Campaign.gift_count.label("gifts"),
                    Campaign.donor_count.label("donors"))
             .order_by(Campaign.start_date.desc().nulls_last(), Campaign.name))
CAMPAIGN_CHOICES = scoped(Campaign, Campaign.id, Campaign.name).order_by(Campaign.name)


def campaign_summaries(session: TenantSession) -> list:
    """Each campaign with its totals, which triggers keep on the row (migration f3c1d5a7b920)."""
    return session.rows(CAMPAIGNS).all()
