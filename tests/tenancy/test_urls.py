"""The URL rules: one table of good and bad URLs, and properties that hold for any input."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL

from app.tenancy.urls import InvalidDatabaseUrl, mask, parse_database_url, render

GOOD = [
    ("postgresql://user:pass@127.0.0.1:5432/org1_db", "user@127.0.0.1:5432/org1_db"),
    ("postgres://user:pass@localhost/org1_db", "user@localhost/org1_db"),
    (
        "postgresql://user:pass@db.example.internal:6543/org1_db?sslmode=require",
        "user@db.example.internal:6543/org1_db",
    ),
    ("postgresql://user:pass@[::1]:5432/org1_db?application_name=console", "user@[::1]:5432/org1_db"),
    ("postgresql://user:p%40ss%3Aw%2Frd@127.0.0.1/org1_db", "user@127.0.0.1/org1_db"),
    ("postgresql://127.0.0.1/org1_db", "127.0.0.1/org1_db"),
]

BAD = [
    ("", "empty"),
    ("   ", "empty"),
    ("mysql://user:Canary7x@127.0.0.1/db", "Only postgresql"),
    ("postgresql+psycopg2://user:Canary7x@127.0.0.1/db", "Only postgresql"),
    ("postgresql+psycopg://user:Canary7x@127.0.0.1/db", "Only postgresql"),
    ("PostgreSQL://user:Canary7x@127.0.0.1/db", "Only postgresql"),
    ("POSTGRES://user:Canary7x@127.0.0.1/db", "Only postgresql"),
    ("sqlite+pysqlite:///tmp/x.db", "Only postgresql"),
    ("SQLite:///tmp/x.db", "Only postgresql"),
    ("file:/tmp/x.db", "must start with"),
    ("sqlite:///file:/tmp/x.db?mode=ro&uri=true", "sqlite:///path"),
    ("sqlite:///:memory:", "name a file"),
    ("127.0.0.1:5432/db", "must start with"),
    ("postgresql://user:Canary7x@/db", "no host"),
    ("postgresql://user:Canary7x@127.0.0.1:5432/", "one database"),
    ("postgresql://user:Canary7x@127.0.0.1:5432", "one database"),
    ("postgresql://user:Canary7x@h1:5432,h2:5432/db", "Multiple hosts"),
    ("postgresql://user:Canary7x@h1,h2/db", "Multiple hosts"),
    ("postgresql://user:Canary7x@%2Fvar%2Frun%2Fpostgresql/db", "Unix-socket"),
    ("postgresql://user:Canary7x@127.0.0.1/db?host=/var/run/postgresql", "'host' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?hostaddr=10.0.0.1", "'hostaddr' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?passfile=/etc/passwd", "'passfile' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?service=prod", "'service' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?options=-c%20statement_timeout%3D0", "'options' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?sslkey=/k", "'sslkey' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?sslcert=/c", "'sslcert' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?sslrootcert=/r", "'sslrootcert' is not allowed"),
    ("postgresql://user:Canary7x@127.0.0.1/db?sslmode=require&sslmode=disable", "more than once"),
    ("postgresql://user:Canary7x@127.0.0.1/db?sslmode=sometimes", "sslmode must be"),
    ("postgresql://user:Canary7x@127.0.0.1:99999/db", "port"),
    ("postgresql://user:Canary7x@127.0.0.1:abc/db", "port|parsed"),
    ("postgresql://user:p@ss@127.0.0.1/db", "percent-encode"),
    ("postgresql://user:Canary7x@bad_host!/db", "host"),
    ("postgresql://user:Canary7x@127.0.0.1/db\nx", "control"),
    ("postgresql://user:Canary7x@127.0.0.1/a/b", "one database"),
]


@pytest.mark.parametrize("text, masked", GOOD)
def test_good_urls_parse_to_psycopg_and_mask_without_password(text, masked):
    url = parse_database_url(text, allow_sqlite=False)
    assert url.drivername == "postgresql+psycopg"
    assert mask(url) == masked
    assert "pass" not in mask(url) and "p%40ss" not in mask(url)


@pytest.mark.parametrize("text, reason", BAD)
def test_bad_urls_are_refused_with_a_reason(text, reason):
    with pytest.raises(InvalidDatabaseUrl, match=reason) as caught:
        parse_database_url(text, allow_sqlite=True)
    assert "Canary7x" not in str(caught.value)


def test_sqlite_only_when_allowed(tmp_path):
    text = f"sqlite:///{tmp_path}/tenant.db"
    assert parse_database_url(text, allow_sqlite=True).database == f"{tmp_path}/tenant.db"
    with pytest.raises(InvalidDatabaseUrl, match="ALLOW_SQLITE_TENANTS"):
        parse_database_url(text, allow_sqlite=False)


@pytest.mark.parametrize(
    "password",
    ["p@ss", "a:b", "sl/ash", "100%", "ha#sh", "what?", "plus+sign", "été-Ωμέγα-密码", "@:/%#?+ all together"],
)
def test_passwords_with_special_characters_round_trip(password):
    text = render(
        URL.create(
            "postgresql", username="org_user", password=password, host="127.0.0.1", port=5432, database="org1_db"
        )
    )
    url = parse_database_url(text, allow_sqlite=False)
    assert url.password == password and url.username == "org_user" and url.database == "org1_db"
    assert password not in mask(url)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_the_validation_error_only(text):
    try:
        parse_database_url(text, allow_sqlite=True)
    except InvalidDatabaseUrl:
        pass


@settings(max_examples=300, deadline=None)
@given(
    user=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20),
    password=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=4, max_size=40),
    database=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
)
def test_mask_never_contains_the_password(user, password, database):
    text = render(URL.create("postgresql", username=user, password=password, host="127.0.0.1", database=database))
    url = parse_database_url(text, allow_sqlite=False)
    assert url.password == password
    masked = mask(url)
    if password not in f"{user}@127.0.0.1/{database}":
        assert password not in masked


def test_the_suite_reaches_loopback_addresses_only():
    import socket

    from tests.conftest import NonLocalAddress

    with socket.socket() as sock, pytest.raises(NonLocalAddress, match="only loopback"):
        sock.connect(("192.0.2.1", 5432))  # TEST-NET-1: refused before any packet leaves
