"""The donor list: keyset pages in constant time at any depth, search, filters, totals.

Every statement starts from scoped(), so it is filtered by "organizationId" in shared
and in dedicated mode alike, and TenantSession.rows() and rows_pipelined() always bind
the session's own organization. Statements are built once per shape (which filters,
which sort, which way) with every value a bound parameter, search text included:
building and cache-keying a statement afresh cost more than running it.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Date, Select, bindparam, exists, func, literal_column, or_, tuple_

from app.donors.cursors import decode_cursor, encode_cursor
from app.like import ESCAPE, contains_pattern, prefix_pattern
from app.models import Campaign, Donation, Donor, DonorPreference
from app.tenancy.counts import Count, count_or_estimate, explain, plan_rows
from app.tenancy.scoping import TenantSession, scoped

PAGE_SIZE = 50
EXACT_COUNT_LIMIT = 10_000
# (columns, descending, how to read a cursor value back)
SORTS = {
    "name": ((Donor.last_name, Donor.id), False, (str, str)),
    "created": ((Donor.created_at, Donor.id), True, (datetime.fromisoformat, str)),
    "total": ((Donor.lifetime_total, Donor.id), True, (Decimal, str)),
}
# The expression of the trigram index (migration a7d31f0c9b42), so the planner can use it.
FULL_NAME = func.lower(Donor.first_name.op("||")(literal_column("' '")).op("||")(Donor.last_name))
LIST_COLUMNS = (
    Donor.id,
    Donor.first_name,
    Donor.last_name,
    Donor.email,
    Donor.phone,
    Donor.city,
    Donor.lifetime_total,
    Donor.gift_count,
    Donor.last_gift_date,
    Donor.created_at,
)
EXPORT_COLUMNS = (
    Donor.id,
    Donor.first_name,
    Donor.last_name,
    Donor.email,
    Donor.phone,
    Donor.address_line1,
    Donor.city,
    Donor.state,
    Donor.postal_code,
    Donor.country,
    Donor.lifetime_total,
    Donor.gift_count,
    Donor.last_gift_date,
    Donor.created_at,
)
COLUMN_SETS = {"list": LIST_COLUMNS, "export": EXPORT_COLUMNS}


def filtered(filters: dict, columns: str = "list") -> tuple[Select, dict]:
    """The donors matching filters (COLUMN_SETS[columns]), unordered, and its parameters."""
    q = (filters.get("q") or "").strip().lower()
    shape = (
        ("email" if "@" in q else "any") if q else None,
        bool(filters.get("campaign")),
        bool(filters.get("since")),
        bool(filters.get("opted_in")),
    )
    params = {
        "q_prefix": prefix_pattern(q),
        "q_inner": contains_pattern(q),
        "campaign": filters.get("campaign"),
        "since": date.fromisoformat(filters["since"]) if filters.get("since") else None,
    }
    return _filtered(shape, columns), params


@lru_cache(maxsize=64)
def _filtered(shape: tuple, columns: str) -> Select:
    search, campaign, since, opted_in = shape
    stmt = scoped(Donor, *COLUMN_SETS[columns])
    if search:
        email = func.lower(Donor.email).like(bindparam("q_prefix"), escape=ESCAPE)
        stmt = stmt.where(
            email if search == "email" else or_(FULL_NAME.like(bindparam("q_inner"), escape=ESCAPE), email)
        )
    if campaign:
        stmt = stmt.where(
            exists().where(
                Donation.organization_id == bindparam("org_id"),
                Donation.donor_id == Donor.id,
                Donation.campaign_id == bindparam("campaign"),
            )
        )
    if since:
        stmt = stmt.where(Donor.last_gift_date >= bindparam("since", type_=Date))
    if opted_in:
        stmt = stmt.where(
            exists().where(
                DonorPreference.organization_id == bindparam("org_id"),
                DonorPreference.donor_id == Donor.id,
                DonorPreference.email_opt_in,
            )
        )
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
    currency: str | None = None  # of the organization's latest gift: what its totals are counted in


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
    queries = [(_page(base, sort, keyset, direction == "prev"), params), (CAMPAIGN_CHOICES, {}), (LATEST_CURRENCY, {})]
    if session.get_bind().dialect.name == "postgresql":
        queries.append((explain(base), params))
    rows, campaigns, currency, *plan = session.rows_pipelined(*queries)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if direction == "prev":
        rows.reverse()
    has_next = more if direction == "next" else key is not None
    has_prev = key is not None if direction == "next" else more
    keys = [tuple(getattr(row, c.key) for c in columns) for row in (rows[0], rows[-1])] if rows else None
    return DonorPage(
        rows=rows,
        total=count_or_estimate(
            session, base, params, limit=EXACT_COUNT_LIMIT, guess=plan_rows(plan[0][0][0]) if plan else None
        ),
        next_cursor=encode_cursor("donors", sort, "next", keys[1]) if rows and has_next else None,
        prev_cursor=encode_cursor("donors", sort, "prev", keys[0]) if rows and has_prev else None,
        campaigns=[tuple(row) for row in campaigns],
        currency=currency[0][0] if currency else None,
    )


CAMPAIGN_CHOICES = scoped(Campaign, Campaign.id, Campaign.name).order_by(Campaign.name)
# One index probe (ix_Donation_org_date): the donor list's amounts say their currency.
LATEST_CURRENCY = scoped(Donation, Donation.currency).order_by(Donation.date.desc()).limit(1)
