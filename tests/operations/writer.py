"""A platform writer for the move tests: it follows docs/platform.md (resolve the route, write
there, on the fence error re-read the route and retry once) and remembers every write that
was acknowledged, so a test can check that none was lost."""

import threading
import time

import psycopg

from app.tenancy.urls import resolve
from tests.helpers import sql


class Writer(threading.Thread):
    """Inserts a donor and a gift, updates a donor and deletes a gift of org_id, in a loop.

    Every operation is one transaction; what committed is recorded in acknowledged."""

    def __init__(self, main_url: str, org_id: str, pause: float = 0.002):
        super().__init__(daemon=True)
        self.main_url, self.org_id, self.pause = main_url, org_id, pause
        self.stop = threading.Event()
        self.donors: dict[str, str | None] = {}  # id -> last acknowledged city
        self.gifts: set[str] = set()
        self.deleted: set[str] = set()
        self.errors: list[str] = []
        self.fenced = 0
        self.n = 0

    def route(self) -> str:
        stored = sql(self.main_url, 'SELECT "databaseUrl" FROM "Organization" WHERE id = %s', (self.org_id,))[0][0]
        return resolve(stored, {}) or self.main_url

    def run(self) -> None:
        conn = psycopg.connect(self.route(), autocommit=True)
        try:
            while not self.stop.is_set():
                try:
                    self.write(conn)
                except psycopg.Error as exc:
                    if exc.sqlstate != "55000":
                        self.errors.append(str(exc))
                        continue
                    self.fenced += 1  # the organization moved: re-read the route, retry once
                    conn.close()
                    conn = psycopg.connect(self.route(), autocommit=True)
                    try:
                        self.write(conn)
                    except psycopg.Error as again:
                        self.errors.append(f"after the retry: {again}")
                time.sleep(self.pause)
        finally:
            conn.close()

    def write(self, conn: psycopg.Connection) -> None:
        """One transaction: a new donor and its gift, an update of the donor before, and every
        third time the delete of an older gift. Remembered once committed."""
        n, org = self.n, self.org_id
        donor, gift = f"{org}-w-donor-{n}", f"{org}-w-gift-{n}"
        previous, old = f"{org}-w-donor-{n - 1}", f"{org}-w-gift-{n - 3}"
        with conn.transaction():
            conn.execute(
                """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName", city)
                   VALUES (%s, %s, 'Writer', %s, 'new')""",
                (donor, org, f"N{n}"),
            )
            conn.execute(
                """INSERT INTO "Donation" (id, "organizationId", "donorId", amount, date)
                   VALUES (%s, %s, %s, %s, '2026-11-01')""",
                (gift, org, donor, 10 + n % 7),
            )
            if n >= 1:
                conn.execute('UPDATE "Donor" SET city = %s WHERE id = %s', (f"city-{n}", previous))
            if n >= 3 and n % 3 == 0:
                conn.execute('DELETE FROM "Donation" WHERE id = %s', (old,))
        self.donors[donor] = "new"
        self.gifts.add(gift)
        if n >= 1:
            self.donors[previous] = f"city-{n}"
        if n >= 3 and n % 3 == 0:
            self.gifts.discard(old)
            self.deleted.add(old)
        self.n += 1

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=30)


def lost_writes(url: str, writer: Writer) -> list[str]:
    """Acknowledged writes that the database at url does not show."""
    org = writer.org_id
    donors = dict(
        sql(url, """SELECT id, city FROM "Donor" WHERE "organizationId" = %s AND id LIKE %s""", (org, f"{org}-w-%"))
    )
    gifts = {
        r[0]
        for r in sql(
            url, """SELECT id FROM "Donation" WHERE "organizationId" = %s AND id LIKE %s""", (org, f"{org}-w-%")
        )
    }
    lost = [f"donor {d} ({city})" for d, city in writer.donors.items() if donors.get(d) != city]
    lost += [f"gift {g}" for g in writer.gifts - gifts]
    lost += [f"deleted gift {g} is back" for g in writer.deleted & gifts]
    return lost


TOTALS_DIFFER = """
SELECT 'donor ' || d.id FROM "Donor" d
  LEFT JOIN (SELECT "donorId", sum(amount) s, count(*) c, max(date) m FROM "Donation" WHERE "organizationId" = %(org)s
             GROUP BY 1) g ON g."donorId" = d.id
 WHERE d."organizationId" = %(org)s
   AND (d."lifetimeTotal" <> coalesce(g.s, 0) OR d."giftCount" <> coalesce(g.c, 0)
        OR d."lastGiftDate" IS DISTINCT FROM g.m)
UNION ALL
SELECT 'campaign ' || c.id FROM "Campaign" c
  LEFT JOIN (SELECT "campaignId", sum(amount) s, count(*) n, count(DISTINCT "donorId") k FROM "Donation"
              WHERE "organizationId" = %(org)s GROUP BY 1) g ON g."campaignId" = c.id
 WHERE c."organizationId" = %(org)s
   AND (c."raisedTotal" <> coalesce(g.s, 0) OR c."giftCount" <> coalesce(g.n, 0) OR c."donorCount" <> coalesce(g.k, 0))
"""


def totals_that_differ(url: str, org_id: str) -> list[str]:
    """Donor and Campaign totals kept by triggers that differ from a recomputation."""
    return [row[0] for row in sql(url, TOTALS_DIFFER, {"org": org_id})]
