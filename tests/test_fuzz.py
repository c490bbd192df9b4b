"""Bad input of any shape: never a 500, and nothing stored from a rejected request.

(Hypothesis drives the API bodies and the pages' query strings; schemathesis was left
out to keep the suite's dependencies small, and the OpenAPI responses are validated
against live responses in tests/api instead.)
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import add_admin, add_org, login, sql

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)
URLISH = st.one_of(st.text(max_size=120), st.from_regex(r"postgres(ql)?://[\w:@%/.?=&\[\]-]{0,80}", fullmatch=True))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def app(make_app):
    # Limits high enough that every example reaches the code under test rather than a 429.
    return make_app(
        TENANT_TEST_RATE_LIMIT="100000/minute",
        LOGIN_RATE_LIMIT_IP="100000/minute",
        LOGIN_FAILURES_PER_ACCOUNT="100000/minute",
        TENANT_CONNECT_TIMEOUT=2,
        # Generated host names are refused before any DNS lookup: loopback only, ever.
        TENANT_DB_ALLOWED_HOSTS="127.0.0.1,localhost",
    )


@pytest.fixture
def api(app):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha")
    token = app.test_cli_runner().invoke(args=["create-token", "owner@example.org"]).output.strip().splitlines()[-1]
    client = app.test_client()
    return client, {"Authorization": f"Bearer {token}"}


@FUZZ
@given(body=st.one_of(JSON, st.fixed_dictionaries({"databaseUrl": URLISH}, optional={"force": JSON})))
def test_api_put_never_500_and_stores_nothing_rejected(api, databases, body):
    client, headers = api
    response = client.put("/api/organizations/org-a/database", headers=headers, json=body)
    assert response.status_code in (200, 400, 422), response.status_code
    assert response.get_json()["success"] is (response.status_code == 200)
    stored = sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""")[0][0]
    if response.status_code != 200:
        assert stored is None
    else:
        sql(databases["main"], """UPDATE "Organization" SET "databaseUrl" = NULL WHERE id = 'org-a'""")


@FUZZ
@given(raw=st.binary(max_size=200))
def test_api_test_endpoint_takes_any_bytes(api, raw):
    client, headers = api
    response = client.post(
        "/api/organizations/org-a/database/test", headers=headers, data=raw, content_type="application/json"
    )
    assert response.status_code in (200, 400, 422)


@pytest.fixture
def browser_client(app):
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha")
    client = app.test_client()
    login(client, "owner@example.org")
    return client


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "campaign", "since", "opted_in", "sort", "cursor", "page"]),
        st.text(max_size=60),
        max_size=5,
    )
)
def test_donor_and_organization_pages_take_any_query_string(browser_client, params):
    for path in ("/organizations/org-a/donors", "/organizations/org-a/donors.csv", "/organizations", "/audit"):
        response = browser_client.get(path, query_string=params)
        assert response.status_code in (200, 400), (path, params, response.status_code)


@FUZZ
@given(email=st.text(max_size=400), password=st.text(max_size=200))
def test_login_form_takes_any_text(app, email, password):
    from tests.helpers import csrf_token

    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code in (200, 400, 401)
