"""A French browser gets French: a walk over every page finds no catalogue string left in
English; the switch in the navigation bar is remembered; dates, amounts and numbers follow
the language."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.helpers import add_admin, add_campaign_with_gift, add_donors, add_org, csrf_token, login, sql, with_port
from tests.pgserver import free_port

CATALOGUE = Path(__file__).resolve().parents[2] / "app/translations/fr/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdg]")
FRENCH = "fr-FR,fr;q=0.9,en;q=0.5"


def english_left_behind() -> tuple[set[str], set[str]]:
    """(phrases, words): what a page would show of a catalogue string left in English. A
    phrase (two words or more, or a literal part of a string with placeholders) is looked for
    anywhere in a page's text; a one-word string only as a whole text or label."""
    phrases, words = set(), set()
    for message in read_po(CATALOGUE.open("rb")):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in filter(None, ids):
            if msgid in strings:  # the same in both languages ("Console", "SMS")
                continue
            for part in PLACEHOLDER.split(msgid):
                part = part.strip(" .,:;()«»“”'")
                if len(part.split()) >= 2:
                    phrases.add(part)
                elif part == msgid.strip(" .,:;"):
                    words.add(part)
    return phrases, words


class ShownText(HTMLParser):
    """The text a person reads, without scripts and without what is marked lang="en": the
    audit log's details and a job's result, recorded in English for every admin (as the CLI
    prints them)."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.hidden = 0
        self.english: list[str] = []  # the open element marked lang="en", and its nested namesakes

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")
        attrs = dict(attrs)
        if self.english and tag == self.english[0] or attrs.get("lang") == "en" and tag != "html":
            self.english.append(tag)
        self.texts += [attrs[name] for name in ("title", "placeholder", "aria-label", "alt") if attrs.get(name)]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")
        if self.english and tag == self.english[0]:
            self.english.pop()

    def handle_data(self, data):
        if not self.hidden and not self.english and data.strip():
            self.texts.append(" ".join(data.split()))


def english_on(page: str, phrases: set[str], words: set[str]) -> list[str]:
    parser = ShownText()
    parser.feed(page)
    shown = "\n".join(parser.texts)
    return sorted({p for p in phrases if p in shown} | {t for t in parser.texts if t.strip(" .:") in words})


@pytest.fixture
def app(make_app):
    return make_app(ENABLE_MULTI_DATABASE=True)


@pytest.fixture
def french_owner(app, databases):
    add_org(app, "asso-a", "Les Amis du Quartier", database_url=databases["tenant_a"])
    add_org(app, "asso-b", "Banque Alimentaire")
    add_org(app, "asso-down", "Refuge Fermé", database_url=with_port(databases["tenant_b"], free_port()))
    add_org(app, "asso-env", "Variable Absente", database_url="env:NOT_SET_ANYWHERE")
    donors = add_donors(databases["tenant_a"], "asso-a", ["Durand", "Lefèvre"])
    add_campaign_with_gift(databases["tenant_a"], "asso-a", donors[0], "hiver", amount="1234.50")
    add_donors(databases["main"], "asso-b", ["Martin"])
    add_admin(app, "proprietaire@example.org", "owner")
    add_admin(app, "lecteur@example.org", "viewer")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = FRENCH
    login(client, "proprietaire@example.org")
    return client, donors


def post(client, page: str, action: str, **data):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def test_every_page_is_in_french(app, french_owner, databases):
    client, donors = french_owner
    phrases, words = english_left_behind()
    pages = {}
    for path in (
        "/organizations",
        "/organizations?q=zzz-rien",
        "/organizations/asso-a",
        "/organizations/asso-b",
        "/organizations/asso-env",
        "/organizations/asso-a/database/clear",
        "/organizations/asso-a/donors",
        "/organizations/asso-a/donors?q=zzz-rien",
        f"/organizations/asso-a/donors/{donors[0]}",
        "/organizations/asso-a/donors/nobody",
        "/organizations/asso-a/campaigns",
        "/organizations/asso-down/donors",
        "/audit",
        "/system",
        "/fleet",
        "/nowhere",
    ):
        pages[path] = client.get(path).get_data(as_text=True)
    refused = with_port(databases["tenant_b"], free_port())
    pages["test refused"] = post(
        client, "/organizations/asso-b", "/organizations/asso-b/database/test", database_url=refused
    ).get_data(as_text=True)
    pages["test bad url"] = post(
        client, "/organizations/asso-b", "/organizations/asso-b/database/test", database_url="mysql://x"
    ).get_data(as_text=True)
    post(client, "/organizations/asso-b", "/organizations/asso-b/database", database_url="")
    pages["save refused, flashed"] = client.get("/organizations/asso-b").get_data(as_text=True)
    pages["clear unticked, flashed"] = post(
        client, "/organizations/asso-a/database/clear", "/organizations/asso-a/database/clear"
    ).get_data(as_text=True)
    answer = client.post(
        "/organizations/asso-b/database/test",
        data={"csrf_token": csrf_token(pages["/organizations/asso-b"]), "database_url": refused},
        headers={"Accept": "application/json"},
    ).get_json()["data"]
    pages["test refused, json"] = f"<p>{answer['message']}</p><p>{answer['hint']}</p>"
    viewer = app.test_client()
    viewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = FRENCH
    pages["sign-in page"] = viewer.get("/login").get_data(as_text=True)
    pages["sign-in failed"] = login(viewer, "lecteur@example.org", "wrong-password").get_data(as_text=True)
    login(viewer, "lecteur@example.org")
    pages["viewer, owners only"] = viewer.get("/system").get_data(as_text=True)
    pages["signed out"] = post(viewer, "/organizations", "/logout").get_data(as_text=True)
    pages["signed out, flashed"] = viewer.get("/login").get_data(as_text=True)

    left = {name: found for name, page in pages.items() if (found := english_on(page, phrases, words))}
    assert not left, f"English on French pages: {left}"
    # and the pages really are the French ones, with their data
    assert "Donateurs" in pages["/organizations/asso-a/donors"] and "Durand" in pages["/organizations/asso-a/donors"]
    assert "Mot de passe" in pages["sign-in page"] and "E-mail ou mot de passe incorrect." in pages["sign-in failed"]
    assert "rien n’écoute à cette adresse" in pages["test refused"]
    assert "Repli sur la base partagée." in pages["/organizations/asso-down/donors"]
    assert "Seuls les propriétaires" in pages["viewer, owners only"]
    assert "Vous êtes déconnecté." in pages["signed out, flashed"]
    assert '<html lang="fr">' in pages["/organizations"]


def test_dates_amounts_and_numbers_follow_the_language(french_owner):
    client, donors = french_owner
    french = client.get(f"/organizations/asso-a/donors/{donors[0]}").get_data(as_text=True)
    english = client.get(f"/organizations/asso-a/donors/{donors[0]}", headers={"Accept-Language": "en"})
    english = english.get_data(as_text=True)
    assert "1\u202f234,50" in french and "1 mars 2026" in french  # Babel's French: narrow no-break space, day month
    assert "1,234.50" in english and "Mar 1, 2026" in english
    campaigns = client.get("/organizations/asso-a/campaigns").get_data(as_text=True)
    assert ">123,4\u00a0%<" in campaigns  # 1,234.50 of a 1,000 goal


def test_the_language_switch_is_remembered_through_sign_in_and_out(app, french_owner):
    client, _ = french_owner
    page = client.get("/organizations/asso-a/donors").get_data(as_text=True)
    assert "Donateurs" in page
    switched = post(
        client, "/organizations", "/language", lang="en", next="/organizations/asso-a/donors"
    )  # the French browser picks English
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/organizations/asso-a/donors")
    assert ">Donors<" in client.get("/organizations/asso-a/donors").get_data(as_text=True)
    post(client, "/organizations", "/logout")
    login(client, "proprietaire@example.org")
    assert ">Donors<" in client.get("/organizations/asso-a/donors").get_data(as_text=True)
    post(client, "/organizations", "/language", lang="xx", next="https://elsewhere.example/")
    assert ">Donors<" in client.get("/organizations").get_data(as_text=True)  # an unknown language changes nothing
    anonymous = app.test_client()
    assert ">Password<" in anonymous.get("/login").get_data(as_text=True)  # no Accept-Language: English
    redirect = post(anonymous, "/login", "/language", lang="fr", next="https://elsewhere.example/")
    assert "elsewhere" not in redirect.headers["Location"]
    assert "Mot de passe" in anonymous.get("/login").get_data(as_text=True)


def test_commands_and_audit_rows_stay_english(app, french_owner, databases):
    """A French admin's actions are recorded in English (every admin reads the audit log),
    and commands print English whatever the environment's language."""
    client, _ = french_owner
    refused = with_port(databases["tenant_b"], free_port())
    page = post(client, "/organizations/asso-b", "/organizations/asso-b/database/test", database_url=refused)
    assert "rien n’écoute à cette adresse" in page.get_data(as_text=True)
    detail = sql(databases["main"], 'SELECT detail FROM "AuditEvent" WHERE action = %s', ("database.test-typed",))
    assert "nothing is listening there" in detail[0][0]
    result = app.test_cli_runner(env={"LANG": "fr_FR.UTF-8", "LANGUAGE": "fr"}).invoke(
        args=["tenants", "status", "--json"]
    )
    down = next(row for row in json.loads(result.output) if row["id"] == "asso-down")
    assert down["message"] == "The server refused the connection: nothing is listening there."
