"""Campaign totals kept by the database (migration f3c1d5a7b920): always equal to the donations."""

import os
import sqlite3
import subprocess
import sys
import threading

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import sql

KEPT = 'SELECT id, "raisedTotal"::numeric, "giftCount", "donorCount" FROM "Campaign" ORDER BY id'
TRUTH = """SELECT c.id, COALESCE(sum(d.amount), 0)::numeric, count(d.id), count(DISTINCT d."donorId")
             FROM "Campaign" c LEFT JOIN "Donation" d ON d."campaignId" = c.id GROUP BY c.id ORDER BY c.id"""
CAMPAIGNS = ("c1", "c2")
DONORS = ("d1", "d2", "d3")


def seed(conn) -> None:
    conn.execute('TRUNCATE "Donation", "DonorPreference", "Donor", "Campaign"')
    for c in CAMPAIGNS:
        conn.execute("""INSERT INTO "Campaign" (id, "organizationId", name) VALUES (%s, 'org-x', %s)""", (c, c))
    for d in DONORS:
        conn.execute(
            """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName") VALUES (%s, 'org-x', 'F', 'L')""",
            (d,),
        )


# Statements as an application or the guide's SQL would write them, single- and multi-row.
gift = st.tuples(st.sampled_from(DONORS), st.sampled_from(CAMPAIGNS + (None,)), st.integers(1, 500))
operation = st.one_of(
    st.tuples(st.just("insert"), st.lists(gift, min_size=1, max_size=4)),
    st.tuples(st.just("move"), st.sampled_from(DONORS), st.sampled_from(CAMPAIGNS + (None,))),
    st.tuples(st.just("reassign"), st.sampled_from(CAMPAIGNS), st.sampled_from(DONORS)),
    st.tuples(st.just("amount"), st.sampled_from(CAMPAIGNS), st.integers(1, 500)),
    st.tuples(st.just("delete_donor_gifts"), st.sampled_from(DONORS)),
    st.tuples(st.just("delete_donor"), st.sampled_from(DONORS)),
    st.tuples(st.just("delete_some"), st.integers(0, 3)),
)


def apply(conn, op, counter) -> None:
    kind = op[0]
    if kind == "insert":
        rows = []
        for donor, campaign, amount in op[1]:
            counter[0] += 1
            rows += [f"g{counter[0]}", donor, campaign, amount]
        values = ", ".join(["(%s, 'org-x', %s, %s, %s, '2026-01-01')"] * len(op[1]))
        conn.execute(
            f'INSERT INTO "Donation" (id, "organizationId", "donorId", "campaignId", amount, date) VALUES {values}',
            rows,
        )
    elif kind == "move":
        conn.execute('UPDATE "Donation" SET "campaignId" = %s WHERE "donorId" = %s', (op[2], op[1]))
    elif kind == "reassign":
        conn.execute('UPDATE "Donation" SET "donorId" = %s WHERE "campaignId" = %s', (op[2], op[1]))
    elif kind == "amount":
        conn.execute('UPDATE "Donation" SET amount = amount + %s WHERE "campaignId" = %s', (op[2], op[1]))
    elif kind == "delete_donor_gifts":
        conn.execute('DELETE FROM "Donation" WHERE "donorId" = %s', (op[1],))
    elif kind == "delete_donor":  # the foreign key cascades to the donor's gifts
        conn.execute('DELETE FROM "Donor" WHERE id = %s', (op[1],))
        conn.execute(
            """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName") VALUES (%s, 'org-x', 'F', 'L')""",
            (op[1],),
        )
    else:
        conn.execute('DELETE FROM "Donation" WHERE id IN (SELECT id FROM "Donation" ORDER BY id LIMIT %s)', (op[1],))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=12))
def test_totals_equal_the_donations_after_any_statements(databases, operations):
    url = databases["main"]
    with psycopg.connect(url, autocommit=True) as conn:
        seed(conn)
        counter = [0]
        for op in operations:
            apply(conn, op, counter)
            assert conn.execute(KEPT).fetchall() == conn.execute(TRUTH).fetchall(), op


def test_concurrent_first_gifts_of_one_donor_count_the_donor_once(databases):
    """Two transactions record the same donor's first gift to one campaign at the same time."""
    url = databases["main"]
    with psycopg.connect(url, autocommit=True) as conn:
        seed(conn)
    first, second = psycopg.connect(url), psycopg.connect(url)
    try:
        insert = """INSERT INTO "Donation" (id, "organizationId", "donorId", "campaignId", amount, date)
                    VALUES (%s, 'org-x', 'd1', 'c1', 10, '2026-01-01')"""
        first.execute(insert, ("g-first",))
        done = threading.Event()

        def other():
            second.execute(insert, ("g-second",))
            second.commit()
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(0.5), "the second writer should wait for the campaign row"
        first.commit()
        thread.join(10)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    assert sql(url, """SELECT "raisedTotal"::text, "giftCount", "donorCount" FROM "Campaign" WHERE id = 'c1'""") == [
        ("20.00", 2, 1)
    ]


def test_loaders_that_carry_stats_set_the_triggers_aside(databases):
    url = databases["main"]
    with psycopg.connect(url) as conn:
        seed(conn)
        conn.execute("SET LOCAL donor_stats.skip = 'on'")
        conn.execute("""INSERT INTO "Donation" (id, "organizationId", "donorId", "campaignId", amount, date)
                        VALUES ('g1', 'org-x', 'd1', 'c1', 10, '2026-01-01')""")
    assert sql(url, """SELECT "giftCount", "donorCount" FROM "Campaign" WHERE id = 'c1'""") == [(0, 0)]


def test_sqlite_keeps_the_same_totals(tmp_path):
    path = tmp_path / "console.db"
    env = dict(os.environ, APP_ENV="development", DATABASE_URL=f"sqlite:///{path}", INSTANCE_PATH=str(tmp_path))
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(
        """INSERT INTO "Campaign" (id, "organizationId", name) VALUES ('c1', 'org-x', 'c1'), ('c2', 'org-x', 'c2')"""
    )
    conn.execute(
        """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName")
           VALUES ('d1', 'org-x', 'F', 'L'), ('d2', 'org-x', 'F', 'L')"""
    )
    conn.execute("""INSERT INTO "Donation" (id, "organizationId", "donorId", "campaignId", amount, date) VALUES
                    ('g1', 'org-x', 'd1', 'c1', 10, '2026-01-01'), ('g2', 'org-x', 'd1', 'c1', 5, '2026-01-01'),
                    ('g3', 'org-x', 'd2', 'c1', 7, '2026-01-01')""")
    conn.execute("""UPDATE "Donation" SET "campaignId" = 'c2' WHERE id = 'g3'""")
    conn.execute("""DELETE FROM "Donation" WHERE id = 'g2'""")
    kept = conn.execute(KEPT.replace("::numeric", "")).fetchall()
    truth = conn.execute(TRUTH.replace("::numeric", "")).fetchall()
    conn.close()
    assert kept == truth == [("c1", 10, 1, 1), ("c2", 7, 1, 1)]
