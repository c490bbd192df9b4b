"""The pages an operator lives in, at desktop (1280 px) and phone (390 px) width, in English
and French, in real Chromium: nothing wider than the window (French words are longer), the
navigation usable, the active section marked."""

import os
import shutil

import pytest

from tests.e2e.conftest import README_SHOTS
from tests.e2e.test_organizations import sign_in
from tests.helpers import add_admin, add_campaign_with_gift, add_donors, add_org

WIDTHS = (1280, 390)
# What a browser in each language reads in the navigation bar.
WORDS = {
    "en": {"Organizations": "Organizations", "Fleet": "Fleet", "Audit": "Audit", "System": "System", "out": "Sign out"},
    "fr": {
        "Organizations": "Organisations",
        "Fleet": "Parc",
        "Audit": "Audit",
        "System": "Système",
        "out": "Se déconnecter",
    },
}
# Shown in the README: the organization page on a phone and the donor list, in French.
README = {("organization", 390, "fr"), ("donors", 1280, "fr")}


@pytest.fixture
def app(make_app):
    return make_app(ENABLE_MULTI_DATABASE=True)


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("language", WORDS)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window_and_the_navigation_works(app, live_server, browser, databases, width, language):
    words = WORDS[language]
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a-long-identifier-0001", "Alpha Aid for Very Long Organization Names", databases["tenant_a"])
    (donor,) = add_donors(databases["tenant_a"], "org-a-long-identifier-0001", ["Montgomery-Wolstenholme"])
    add_campaign_with_gift(databases["tenant_a"], "org-a-long-identifier-0001", donor, "camp-1")
    context = browser.new_context(viewport={"width": width, "height": 844}, locale=language)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, "owner@example.org")
        org = "/organizations/org-a-long-identifier-0001"
        for name, path in (
            ("organizations", "/organizations"),
            ("organization", org),
            ("donors", f"{org}/donors"),
            ("donor", f"{org}/donors/{donor}"),
        ):
            page.goto(live_server + path)
            assert horizontal_overflow(page) <= 0, f"{path} is wider than {width} px"
            assert page.locator("html").get_attribute("lang") == language
            page.screenshot(path=f"tests/artifacts/layout-{name}-{width}-{language}.png", full_page=True)
            if (name, width, language) in README and os.environ.get("README_SCREENSHOTS") == "1":
                shutil.copy(f"tests/artifacts/layout-{name}-{width}-{language}.png", README_SHOTS)
            active = page.locator(".navbar .nav-link.active")
            assert active.count() == 1 and active.inner_text() == words["Organizations"]
        toggler = page.locator("[data-testid=nav-toggler]")
        if width < 992:
            assert toggler.is_visible() and not page.locator(f"text={words['out']}").is_visible()
            toggler.click()
            page.locator("#main-nav.show").wait_for()
        else:
            assert not toggler.is_visible()
        for label in ("Fleet", "Audit", "System"):
            assert page.locator(f".navbar .nav-link:text-is('{words[label]}')").is_visible()
        assert page.locator(f"button:text-is('{words['out']}')").is_visible()
        page.locator(f".navbar .nav-link:text-is('{words['System']}')").click()
        assert page.locator(".navbar .nav-link.active").inner_text() == words["System"]
        assert horizontal_overflow(page) <= 0, f"/system is wider than {width} px"
        other = "en" if language == "fr" else "fr"  # the switch: the page again, in the other language
        if width < 992:
            toggler.click()
            page.locator("#main-nav.show").wait_for()
        page.locator(f"[data-testid=language-switch] button[value={other}]").click()
        page.locator(f"html[lang={other}]").wait_for()
        assert page.url.endswith("/system")
        assert page.locator(".navbar .nav-link.active").inner_text() == WORDS[other]["System"]
        assert page.request.get(live_server + "/favicon.ico").ok
    finally:
        context.close()
