"""Donor browsing: keyset pages, search, filters, sorts, totals, detail, campaigns, CSV, bad input."""

import csv
import io
import re

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import add_admin, add_org, login, sql

DONOR_IDS = re.compile(r'data-donor-id="([^"]+)"')
LINK = re.compile(r'rel="(next|prev)" href="([^"]+)"')


def insert(url, org_id, donors, gifts=(), prefs=(), campaigns=()):
    """donors: (id, first, last, email[, createdAt]); gifts: (id, donor, amount, date, campaign)."""
    with psycopg.connect(url) as conn:
        for c in campaigns:
            conn.execute(
                'INSERT INTO "Campaign" (id, "organizationId", name, goal) VALUES (%s, %s, %s, %s)',
                (c[0], org_id, c[1], c[2]),
            )
        for d in donors:
            conn.execute(
                'INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName", email, city, "createdAt") '
                "VALUES (%s, %s, %s, %s, %s, 'Springfield', %s)",
                (d[0], org_id, *d[1:4], d[4] if len(d) > 4 else "2026-01-01"),
            )
        for g in gifts:
            conn.execute(
                'INSERT INTO "Donation" (id, "organizationId", "donorId", amount, date, "campaignId") '
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (g[0], org_id, g[1], g[2], g[3], g[4] if len(g) > 4 else None),
            )
        for p in prefs:
            conn.execute(
                'INSERT INTO "DonorPreference" (id, "organizationId", "donorId", "emailOptIn", frequency) '
                "VALUES (%s, %s, %s, %s, 'monthly')",
                (f"pref-{p[0]}", org_id, p[0], p[1]),
            )


@pytest.fixture
def owner(app):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-x", "Xavier Fund")
    add_org(app, "org-y", "Yonder Trust")
    client = app.test_client()
    login(client, "owner@example.org")
    return client


def ids_on(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return DONOR_IDS.findall(response.get_data(as_text=True)), dict(
        (rel, href.replace("&amp;", "&")) for rel, href in LINK.findall(response.get_data(as_text=True))
    )


def walk(client, first_path):
    """Follow rel=next to the end, then rel=prev back to the start."""
    pages, path = [], first_path
    while path:
        ids, links = ids_on(client, path)
        pages.append(ids)
        path = links.get("next")
    back, path = [], links.get("prev")
    while path:
        ids, links = ids_on(client, path)
        back.append(ids)
        path = links.get("prev")
    return pages, back


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    last_names=st.lists(st.sampled_from(["Smith", "smith", "Ng", "O'Brien", "Zed"]), min_size=0, max_size=170),
    sort=st.sampled_from(["name", "created", "total"]),
)
def test_pages_skip_and_repeat_no_donor(owner, databases, last_names, sort):
    sql(databases["main"], """DELETE FROM "Donor" WHERE "organizationId" = 'org-x'""")
    donors = [
        (f"d{n:04d}", f"F{n}", last, f"e{n}@x.org", f"2026-01-{1 + n % 3:02d}") for n, last in enumerate(last_names)
    ]
    gifts = [(f"g{n:04d}", f"d{n:04d}", (n * 7) % 5 + 1, "2026-02-01") for n in range(0, len(donors), 2)]
    insert(databases["main"], "org-x", donors, gifts)
    pages, back = walk(owner, f"/organizations/org-x/donors?sort={sort}")
    seen = [d for page in pages for d in page]
    assert sorted(seen) == sorted(d[0] for d in donors)  # every donor once: none skipped, none repeated
    assert all(len(page) == 50 for page in pages[:-1])
    assert back == list(reversed(pages[:-1]))  # Previous retraces the same pages


def test_name_order_and_links(owner, databases):
    insert(
        databases["main"],
        "org-x",
        [("a", "Ann", "Baker", "ann@x.org"), ("b", "Bob", "adams", "bob@x.org"), ("c", "Cy", "Carter", "cy@x.org")],
    )
    ids, links = ids_on(owner, "/organizations/org-x/donors")
    # Last name, in the database's own collation (where "adams" falls depends on it), then id.
    expected = [r[0] for r in sql(databases["main"], 'SELECT id FROM "Donor" ORDER BY "lastName", id')]
    assert ids == expected and set(ids) == {"a", "b", "c"} and links == {}
    for later in ("Zed", "Aaron"):  # a new donor takes its place in that order
        insert(databases["main"], "org-x", [(later.lower(), "New", later, f"{later}@x.org")])
    ids, _ = ids_on(owner, "/organizations/org-x/donors")
    expected = [r[0] for r in sql(databases["main"], 'SELECT id FROM "Donor" ORDER BY "lastName", id')]
    assert ids == expected and ids.index("aaron") < ids.index("a") < ids.index("c") < ids.index("zed")


def test_search_is_case_insensitive_email_prefix_and_name_substring(owner, databases):
    insert(
        databases["main"],
        "org-x",
        [
            ("a", "Margaret", "Thompson", "maggie@mail.org"),
            ("b", "Tom", "Jones", "tj@mail.org"),
            ("c", "Ann", "Lee", "ann.thompson@mail.org"),
            ("d", "Zoe", "Quinn", "zq@other.org"),
        ],
    )
    insert(databases["main"], "org-y", [("y1", "Tom", "Thompson", "tom@mail.org")])
    assert set(ids_on(owner, "/organizations/org-x/donors?q=THOMP")[0]) == {"a"}  # name substring; not c's email
    assert set(ids_on(owner, "/organizations/org-x/donors?q=ann.TH")[0]) == {"c"}  # email prefix
    assert set(ids_on(owner, "/organizations/org-x/donors?q=tj@")[0]) == {"b"}
    assert set(ids_on(owner, "/organizations/org-x/donors?q=om")[0]) == {"b", "a"}  # "Tom Jones", "Thompson"
    assert set(ids_on(owner, "/organizations/org-x/donors?q=mail.org")[0]) == set()  # email by prefix only
    for text in ("' OR 1=1 --", "%", "_", "\\", '"; DROP TABLE "Donor"; --'):
        assert ids_on(owner, f"/organizations/org-x/donors?q={text}")[0] == []
    assert sql(databases["main"], 'SELECT count(*) FROM "Donor"') == [(5,)]


def test_filters_campaign_since_and_email_opt_in(owner, databases):
    insert(
        databases["main"],
        "org-x",
        [("a", "A", "Alpha", "a@x.org"), ("b", "B", "Beta", "b@x.org"), ("c", "C", "Gamma", "c@x.org")],
        gifts=[
            ("g1", "a", 10, "2025-01-05", "spring"),
            ("g2", "b", 20, "2026-06-01"),
            ("g3", "c", 5, "2026-07-01", "spring"),
        ],
        prefs=[("a", True), ("b", True), ("c", False)],
        campaigns=[("spring", "Spring Appeal", 100)],
    )
    assert set(ids_on(owner, "/organizations/org-x/donors?campaign=spring")[0]) == {"a", "c"}
    assert set(ids_on(owner, "/organizations/org-x/donors?since=2026-01-01")[0]) == {"b", "c"}
    assert set(ids_on(owner, "/organizations/org-x/donors?opted_in=y")[0]) == {"a", "b"}
    assert ids_on(owner, "/organizations/org-x/donors?campaign=spring&since=2026-01-01&opted_in=y")[0] == []
    assert ids_on(owner, "/organizations/org-x/donors?sort=total")[0] == ["b", "a", "c"]


def test_lifetime_stats_follow_every_change_to_donations(owner, databases):
    url = databases["main"]
    insert(
        url,
        "org-x",
        [("a", "A", "Alpha", "a@x.org")],
        gifts=[("g1", "a", 10, "2025-01-05"), ("g2", "a", 5, "2026-02-01")],
    )
    stats = lambda: sql(
        url, """SELECT "lifetimeTotal"::text, "giftCount", "lastGiftDate"::text FROM "Donor" WHERE id = 'a'"""
    )[0]
    assert stats() == ("15.00", 2, "2026-02-01")
    sql(url, """UPDATE "Donation" SET amount = 50 WHERE id = 'g1'""")
    assert stats() == ("55.00", 2, "2026-02-01")
    sql(url, """DELETE FROM "Donation" WHERE id = 'g2'""")
    assert stats() == ("50.00", 1, "2025-01-05")
    sql(url, """DELETE FROM "Donation" """)
    assert stats() == ("0.00", 0, None)


def test_total_is_exact_when_cheap_and_estimated_when_large(owner, databases, monkeypatch):
    from app.donors import browse

    insert(databases["main"], "org-x", [(f"d{n}", "F", "L", f"e{n}@x.org") for n in range(30)])
    assert "30 donors" in owner.get("/organizations/org-x/donors").get_data(as_text=True)
    sql(databases["main"], 'ANALYZE "Donor"')
    monkeypatch.setattr(browse, "EXACT_COUNT_LIMIT", 5)
    text = owner.get("/organizations/org-x/donors").get_data(as_text=True)
    assert re.search(r'data-testid="donor-total">about [\d,]+ donors', text)


@pytest.mark.parametrize(
    "query, message",
    [
        ("cursor=not-a-cursor", "not valid"),
        ("sort=salary", "Sort"),
        ("since=2026-13-45", "Gave since"),
        ("q=" + "x" * 201, "Search"),
        ("campaign=" + "c" * 101, "Campaign"),
    ],
)
def test_malformed_input_is_a_400_page(owner, query, message):
    response = owner.get(f"/organizations/org-x/donors?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_cursor_from_another_sort_is_refused(owner, databases):
    insert(databases["main"], "org-x", [(f"d{n:03d}", "F", f"L{n:03d}", f"e{n}@x.org") for n in range(60)])
    next_link = ids_on(owner, "/organizations/org-x/donors?sort=name")[1]["next"]
    cursor = re.search(r"cursor=([^&]+)", next_link).group(1)
    assert owner.get(f"/organizations/org-x/donors?sort=total&cursor={cursor}").status_code == 400
    assert owner.get(f"/organizations/org-x/donors/d001?cursor={cursor}").status_code == 400


def test_donor_detail(owner, databases):
    insert(
        databases["main"],
        "org-x",
        [("a", "Ada", "Lovelace", "ada@x.org")],
        gifts=[
            (f"g{n:02d}", "a", 10 + n, f"{2024 + n % 3}-0{1 + n % 9}-15", "gala" if n % 2 else None) for n in range(30)
        ],
        prefs=[("a", True)],
        campaigns=[("gala", "Winter Gala", 500)],
    )
    page = owner.get("/organizations/org-x/donors/a").get_data(as_text=True)
    assert "Ada Lovelace" in page and "Winter Gala" in page and "monthly" in page
    dates = re.findall(r'<tr data-gift-id="[^"]+"><td class="text-nowrap"><time datetime="([\d-]+)">', page)
    assert len(dates) == 25 and dates == sorted(dates, reverse=True)
    assert re.search(r'data-testid="lifetime-total">\s*735.00<', page)  # sum of 10..39
    older = re.search(r'rel="next" class="[^"]*" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert len(re.findall(r"data-gift-id=", owner.get(older).get_data(as_text=True))) == 5


def test_yearly_totals_are_the_same_summed_from_a_short_gift_list_or_by_the_database(owner, databases):
    """Up to one page of gifts, the totals are summed from it; beyond, the database groups them."""
    gifts = [
        ("s1", "few", "10.50", "2024-03-01"),
        ("s2", "few", "4.25", "2024-11-30"),
        ("s3", "few", "100", "2026-01-02"),
    ]
    gifts += [(f"m{n:02d}", "many", "2.00", f"{2020 + n % 2}-05-0{1 + n % 9}") for n in range(26)]
    insert(databases["main"], "org-x", [("few", "F", "Few", "f@x.org"), ("many", "M", "Many", "m@x.org")], gifts=gifts)
    totals = lambda donor: re.findall(
        r"<tr><td>(\d+)</td><td class=\"text-end\">(\d+)</td><td class=\"text-end\">([\d,.]+)</td></tr>",
        owner.get(f"/organizations/org-x/donors/{donor}").get_data(as_text=True),
    )
    assert totals("few") == [("2026", "1", "100.00"), ("2024", "2", "14.75")]
    assert totals("many") == [("2021", "13", "26.00"), ("2020", "13", "26.00")]


def test_unknown_or_foreign_donor_is_404(owner, databases):
    insert(databases["main"], "org-y", [("y1", "Y", "Why", "y@y.org")])
    assert owner.get("/organizations/org-x/donors/nope").status_code == 404
    assert owner.get("/organizations/org-x/donors/y1").status_code == 404
    assert owner.get("/organizations/org-y/donors/y1").status_code == 200


def test_campaigns_show_raised_donors_and_progress(owner, databases):
    insert(
        databases["main"],
        "org-x",
        [("a", "A", "Alpha", "a@x.org"), ("b", "B", "Beta", "b@x.org")],
        gifts=[
            ("g1", "a", 100, "2026-01-01", "c1"),
            ("g2", "a", 50, "2026-01-02", "c1"),
            ("g3", "b", 100, "2026-01-03", "c1"),
        ],
        campaigns=[("c1", "Roof Fund", 1000), ("c2", "Empty", 10)],
    )
    page = owner.get("/organizations/org-x/campaigns").get_data(as_text=True)
    row = re.search(r'<tr data-campaign-id="c1">.*?</tr>', page, re.S).group(0)
    assert ">250.00<" in row and 'data-testid="campaign-donors">2<' in row and ">25%<" in row
    assert "Empty" in page


def test_csv_export_streams_filters_escapes_and_is_audited(owner, databases):
    insert(
        databases["main"],
        "org-x",
        [("a", "=cmd|'/C calc'!A0", "Alpha", "a@x.org"), ("b", "B", "Beta", "b@x.org")],
        gifts=[("g1", "a", 10, "2026-01-05")],
    )
    insert(databases["main"], "org-y", [("y1", "Y", "Why", "y@y.org")])
    response = owner.get("/organizations/org-x/donors.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["id", "firstName", "lastName"]
    assert [r[0] for r in rows[1:]] == ["a", "b"] and rows[1][1].startswith("'=")
    filtered = list(
        csv.reader(io.StringIO(owner.get("/organizations/org-x/donors.csv?since=2026-01-01").get_data(as_text=True)))
    )
    assert [r[0] for r in filtered[1:]] == ["a"]
    audit = sql(
        databases["main"],
        """SELECT action, "organizationId", detail FROM "AuditEvent" WHERE action = 'donors.export'""",
    )
    assert len(audit) == 2 and audit[0][1] == "org-x" and "filters: since=2026-01-01" in audit[1][2]
    assert not any("{" in row[2] or "'" in row[2] for row in audit)  # words, not a Python dict


def test_amounts_say_their_currency_and_page_views_are_ok_reads(owner, databases):
    insert(databases["main"], "org-x", [("a", "Ann", "Able", "a@x.org")], gifts=[("g1", "a", 10, "2026-01-05")])
    listing = owner.get("/organizations/org-x/donors").get_data(as_text=True)
    assert "Lifetime total (USD)</th>" in listing
    assert "Total (USD)</th>" in owner.get("/organizations/org-x/donors/a").get_data(as_text=True)
    outcomes = sql(databases["main"], """SELECT DISTINCT outcome FROM "AuditEvent" WHERE action = 'tenant.read'""")
    assert outcomes == [("ok",)]  # where it was read from is in the detail, not the outcome


def test_donor_pages_are_get_only(owner):
    for path in ("/organizations/org-x/donors", "/organizations/org-x/donors.csv", "/organizations/org-x/campaigns"):
        assert owner.post(path).status_code == 405  # the route takes GET only (CSRF is not what refuses it)
        assert owner.delete(path).status_code == 405
