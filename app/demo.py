"""Deterministic demo data (Faker), loaded with COPY on PostgreSQL so a million donors take minutes.

The same seed gives the same organizations, donors, gifts and preferences on every machine.
"""

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from faker import Faker
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import Engine

from app.cli_failure import CommandFailed
from app.extensions import db
from app.models import Campaign, Donation, Donor, DonorPreference, Organization
from app.models.tenant import skip_giving_stats
from app.tenancy.schema import check_schema
from config import normalize_database_url

DEMO_ORGANIZATIONS = (
    ("org_hope", "Hope Harbor Foundation"),
    ("org_green", "Green Valley Land Trust"),
    ("org_river", "Riverbend Arts Council"),
)
# (name, start, end): each named for when it runs, the latest of each before TODAY.
CAMPAIGNS = (
    ("Annual Fund 2025-26", date(2025, 7, 1), date(2026, 6, 30)),
    ("Year-End Drive 2025", date(2025, 11, 15), date(2025, 12, 31)),
    ("Giving Tuesday 2025", date(2025, 12, 2), date(2025, 12, 2)),
    ("Spring Appeal 2026", date(2026, 3, 1), date(2026, 5, 15)),
    ("Summer Matching Challenge 2026", date(2026, 6, 1), date(2026, 7, 31)),
)
METHODS = ("card", "card", "card", "bank_transfer", "check", "cash", "paypal")
FREQUENCIES = ("monthly", "quarterly", "yearly", None)
POOL = 2000  # distinct Faker values per field: realistic text without Faker's per-row cost
BATCH = 10_000
TODAY = date(2026, 11, 1)  # fixed, so the data does not depend on the day it is loaded


class DemoPools:
    def __init__(self, seed: int):
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.first = [fake.first_name() for _ in range(POOL)]
        self.last = [fake.last_name() for _ in range(POOL)]
        self.street = [fake.street_address() for _ in range(POOL)]
        self.city = [(fake.city(), fake.state_abbr(), fake.zipcode()) for _ in range(POOL)]
        self.domain = [fake.free_email_domain() for _ in range(50)]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def campaign_rows(org_id: str, rng: random.Random) -> list[tuple]:
    rows = []
    for name, start, end in CAMPAIGNS:
        goal = Decimal(rng.choice((25_000, 50_000, 100_000, 250_000)))
        rows.append((_uuid(rng), org_id, name, goal, start, end))
    return rows


def preference_row(org_id: str, donor_id: str, rng: random.Random) -> tuple:
    preference_id = _uuid(rng)  # the draws keep their order: the same seed gives the same data
    opt_ins = (rng.random() < 0.6, rng.random() < 0.2, rng.random() < 0.4, rng.random() < 0.1)
    return (preference_id, org_id, donor_id, *opt_ins, rng.choice(FREQUENCIES))


def gift_rows(org_id: str, donor_id: str, campaigns: list[tuple], rng: random.Random) -> list[tuple]:
    gifts = []
    for _ in range(rng.choice((1, 2, 3, 3, 4, 5))):
        amount = Decimal(round(rng.lognormvariate(3.7, 0.9), 2)).quantize(Decimal("0.01"))
        if rng.random() < 0.7:  # a campaign gift falls within the campaign's dates
            campaign = rng.choice(campaigns)
            campaign_id, day = (
                campaign[0],
                campaign[4] + timedelta(days=rng.randint(0, (campaign[5] - campaign[4]).days)),
            )
        else:
            campaign_id, day = None, TODAY - timedelta(days=rng.randint(0, 1460))
        gift_id, method = _uuid(rng), rng.choice(METHODS)
        gifts.append(
            (gift_id, org_id, donor_id, campaign_id, max(amount, Decimal("1.00")), "USD", min(day, TODAY), method)
        )
    return gifts


def donor_batches(
    org_id: str, count: int, campaigns: list[tuple], pools: DemoPools, rng: random.Random
) -> Iterator[tuple[list, list, list]]:
    """(donors, preferences, donations) in batches; about three gifts per donor."""
    donors, prefs, gifts = [], [], []
    for n in range(count):
        donor_id = _uuid(rng)
        first, last = rng.choice(pools.first), rng.choice(pools.last)
        city, state, postal = rng.choice(pools.city)
        email = f"{first}.{last}{n}@{rng.choice(pools.domain)}".lower()
        phone = f"+1-{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}"
        street = rng.choice(pools.street)
        prefs.append(preference_row(org_id, donor_id, rng))
        donor_gifts = gift_rows(org_id, donor_id, campaigns, rng)
        gifts += donor_gifts
        # The stats the triggers would compute, written with the donor (see write_rows).
        stats = (sum(g[4] for g in donor_gifts), len(donor_gifts), max(g[6] for g in donor_gifts))
        # A donor since a few weeks at most before the first gift, never after it.
        since = datetime.combine(min(g[6] for g in donor_gifts) - timedelta(days=rng.randint(0, 30)), time(12), UTC)
        donors.append((donor_id, org_id, first, last, email, phone, street, city, state, postal, "US", *stats, since))
        if len(donors) >= BATCH:
            yield donors, prefs, gifts
            donors, prefs, gifts = [], [], []
    if donors:
        yield donors, prefs, gifts


LOADED_COLUMNS = {
    Campaign: ("id", "organizationId", "name", "goal", "startDate", "endDate"),
    Donor: (
        "id",
        "organizationId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "addressLine1",
        "city",
        "state",
        "postalCode",
        "country",
        "lifetimeTotal",
        "giftCount",
        "lastGiftDate",
        "createdAt",
    ),
    DonorPreference: (
        "id",
        "organizationId",
        "donorId",
        "emailOptIn",
        "smsOptIn",
        "mailOptIn",
        "phoneOptIn",
        "frequency",
    ),
    Donation: ("id", "organizationId", "donorId", "campaignId", "amount", "currency", "date", "method"),
}


# One organization's campaign stats from its donations, for the COPY path, where the
# triggers are set aside (migration f3c1d5a7b920).
CAMPAIGN_STATS = """
UPDATE "Campaign" c SET "raisedTotal" = s.amount, "giftCount" = s.gifts, "donorCount" = s.donors
  FROM (SELECT "campaignId" AS campaign, sum(amount) AS amount, count(*) AS gifts, count(DISTINCT "donorId") AS donors
          FROM "Donation" WHERE "organizationId" = %(org_id)s AND "campaignId" IS NOT NULL GROUP BY 1) s
 WHERE c.id = s.campaign AND c."organizationId" = %(org_id)s"""


def write_rows(engine: Engine, org_id: str, batches: Iterator[dict]) -> None:
    """Write {model: rows} batches in one transaction: COPY on PostgreSQL, INSERT elsewhere."""
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                # Donors carry their stats already: the Donation triggers must not add them again.
                skip_giving_stats(cursor)
                for batch in batches:
                    for model, rows in batch.items():
                        columns = ", ".join(f'"{c}"' for c in LOADED_COLUMNS[model])
                        with cursor.copy(f'COPY "{model.__tablename__}" ({columns}) FROM STDIN') as copy:
                            for row in rows:
                                copy.write_row(row)
                # The campaigns' stats, set aside with the donors', computed once at the end.
                cursor.execute(CAMPAIGN_STATS, {"org_id": org_id})
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as connection:
        for batch in batches:
            for model, rows in batch.items():
                table = model.__table__
                keys = [table.c[c].key for c in LOADED_COLUMNS[model]]
                connection.execute(insert(table), [dict(zip(keys, row)) for row in rows])


def load_demo_data(
    *, donor_count: int, database_url: str | None, org_id: str | None, seed: int, echo: Callable[[str], None]
) -> None:
    wanted = [(org_id, None)] if org_id else list(DEMO_ORGANIZATIONS)
    target = create_engine(normalize_database_url(database_url)) if database_url else db.engine
    try:
        with target.connect() as connection:
            status = check_schema(connection)
        if not status.ok:
            raise CommandFailed(f"the target database is not ready: {status.message} {status.hint}")
        pools = DemoPools(seed)
        for oid, name in wanted:
            org = db.session.get(Organization, oid)
            if org is None:
                fake = Faker()
                fake.seed_instance(f"{seed}:{oid}")
                org = Organization(id=oid, name=name or fake.company())
                db.session.add(org)
                db.session.commit()
            with target.connect() as connection:
                existing = connection.scalar(
                    select(func.count()).select_from(Donor).where(Donor.organization_id == oid)
                )
            if existing:
                echo(f"{org.name} ({oid}) already has {existing} donors; skipped.")
                continue
            rng = random.Random(f"{seed}:{oid}")
            campaigns = campaign_rows(oid, rng)

            def batches():
                yield {Campaign: campaigns}
                for donors, prefs, gifts in donor_batches(oid, donor_count, campaigns, pools, rng):
                    yield {Donor: donors, DonorPreference: prefs, Donation: gifts}

            write_rows(target, oid, batches())
            echo(f"{org.name} ({oid}): {donor_count} donors loaded.")
    finally:
        if database_url:
            target.dispose()
