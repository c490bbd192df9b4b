"""Browsing donors in a real browser: search, filter, Next and Previous, detail, CSV download."""

import csv

from tests.e2e.test_organizations import sign_in
from tests.helpers import add_admin, add_org


def test_browse_search_filter_page_detail_and_csv(app, runner, live_server, page, shot, tmp_path):
    add_admin(app, "owner@example.org", "owner")
    result = runner.invoke(args=["demo-data", "--donors", "120", "--org", "org-demo"])
    assert result.exit_code == 0, result.output
    add_org(app, "org-other", "Other Org")
    sign_in(page, live_server, "owner@example.org")
    page.goto(f"{live_server}/organizations/org-demo/donors")
    rows = page.locator("[data-testid=donors] tbody tr[data-donor-id]")
    assert rows.count() == 50 and "120 donors" in page.locator("[data-testid=donor-total]").inner_text()
    first_page = rows.all_inner_texts()
    shot("donors-first-page", readme=True)

    page.click("a[rel=next]")
    second_page = rows.all_inner_texts()
    assert rows.count() == 50 and not set(first_page) & set(second_page)
    page.click("a[rel=prev]")
    assert rows.all_inner_texts() == first_page

    last_name = first_page[0].split(",")[0]
    page.fill("#q", last_name.upper())
    page.click("text=Apply")
    assert rows.count() >= 1
    assert all(last_name.lower() in text.lower() for text in rows.all_inner_texts())

    page.fill("#q", "")
    page.select_option("#sort", "total")
    page.check("#opted_in")
    page.click("text=Apply")
    totals = [
        float(t.replace(",", ""))
        for t in page.locator("[data-testid=donors] tbody tr td:nth-child(5)").all_inner_texts()
    ]
    assert totals == sorted(totals, reverse=True) and 0 < len(totals) <= 50
    shot("donors-filtered")

    with page.expect_download() as download:
        page.click("[data-testid=csv-link]")
    path = tmp_path / "donors.csv"
    download.value.save_as(path)
    exported = list(csv.DictReader(path.open()))
    assert 0 < len(exported) < 120  # the opt-in filter came along
    assert [float(r["lifetimeTotal"]) for r in exported] == sorted(
        (float(r["lifetimeTotal"]) for r in exported), reverse=True
    )

    page.locator("[data-testid=donors] tbody tr a").first.click()
    assert page.locator("[data-testid=donor-name]").inner_text()
    assert page.locator("[data-testid=donations] tbody tr").count() >= 1
    assert "opted in" in page.locator("[data-testid=donor-preferences]").inner_text()
    shot("donor-detail", readme=True)

    page.click("text=Campaigns")
    assert page.locator("[data-testid=campaigns] tbody tr").count() == 5
    shot("campaigns")
