"""The guide's REST API: its contract, every status code, and no password anywhere."""

import logging

import jsonschema
import pytest

from app.api.openapi import OPENAPI
from tests.helpers import add_admin, add_org, csrf_token, login, sql, with_login
from tests.pgserver import free_port

CANARY = "Api-Canary-Pw-4242"


def create_token(app, email):
    result = app.test_cli_runner().invoke(args=["create-token", email])
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def api(app):
    add_admin(app, "owner@example.org", "owner")
    add_admin(app, "viewer@example.org", "viewer")
    add_org(app, "org-a", "Alpha Aid")
    add_org(app, "org-b", "Beta Benevolent")
    tokens = {role: create_token(app, f"{role}@example.org") for role in ("owner", "viewer")}
    client = app.test_client()

    def call(method, path, role="owner", **kwargs):
        headers = kwargs.pop("headers", {})
        if role:
            headers["Authorization"] = f"Bearer {tokens[role]}"
        response = client.open(path, method=method, headers=headers, **kwargs)
        validate(method, path, response)
        return response

    call.app, call.client = app, client
    return call


def validate(method: str, path: str, response) -> None:
    """The live response matches the OpenAPI document's schema for its path and status."""
    template = path.replace("/org-a/", "/{org_id}/").replace("/org-b/", "/{org_id}/").replace("/nope/", "/{org_id}/")
    operation = OPENAPI["paths"].get(template, {}).get(method.lower())
    if operation is None or path.endswith("openapi.json"):
        return
    spec = operation["responses"].get(str(response.status_code))
    assert spec, f"{method} {template} answered {response.status_code}, which the document does not describe"
    schema = {**spec["content"]["application/json"]["schema"], "components": OPENAPI["components"]}
    jsonschema.validate(response.get_json(), schema)


def test_get_database_in_the_guides_shape(api, databases):
    sql(
        databases["main"],
        """UPDATE "Organization" SET "databaseUrl" = %s WHERE id = 'org-a'""",
        (with_login(databases["tenant_a"], password=CANARY),),
    )
    body = api("GET", "/api/organizations/org-a/database").get_json()
    assert body["success"] is True
    assert body["data"]["organizationId"] == "org-a" and body["data"]["organizationName"] == "Alpha Aid"
    assert body["data"]["hasDedicatedDatabase"] is True
    assert body["data"]["databaseUrl"].startswith("postgresql://postgres@127.0.0.1:5432/")
    assert CANARY not in str(body)
    shared = api("GET", "/api/organizations/org-b/database").get_json()["data"]
    assert shared["databaseUrl"] is None and shared["hasDedicatedDatabase"] is False


def test_list(api):
    data = api("GET", "/api/organizations").get_json()["data"]
    assert [org["organizationId"] for org in data] == ["org-a", "org-b"]


def test_put_then_null_returns_to_shared_mode(api, databases):
    response = api("PUT", "/api/organizations/org-a/database", json={"databaseUrl": databases["tenant_a"]})
    assert response.status_code == 200 and response.get_json()["data"]["hasDedicatedDatabase"] is True
    response = api("PUT", "/api/organizations/org-a/database", json={"databaseUrl": None})
    assert response.status_code == 200 and response.get_json()["data"]["databaseUrl"] is None


def test_post_test(api, databases):
    data = api(
        "POST", "/api/organizations/org-a/database/test", json={"databaseUrl": databases["tenant_a"]}
    ).get_json()["data"]
    assert data["ok"] is True and data["code"] == "ok" and data["serverVersion"].startswith("PostgreSQL")
    dead = api(
        "POST",
        "/api/organizations/org-a/database/test",
        json={"databaseUrl": f"postgresql://u:p@127.0.0.1:{free_port()}/db"},
    ).get_json()["data"]
    assert dead["ok"] is False and dead["code"] == "refused"
    # Without a body: the stored URL (none yet).
    assert api("POST", "/api/organizations/org-a/database/test").status_code == 422


@pytest.mark.parametrize(
    "body, kind",
    [
        ("not json", "data"),
        ("[1, 2]", "data"),
        ('{"databaseUrl": 5}', "data"),
        ("{}", "data"),
        ('{"databaseUrl": null, "force": "yes"}', "data"),
        ('{"databaseUrl": null, "extra": 1}', "data"),
    ],
)
def test_400_for_bodies_of_the_wrong_shape(api, body, kind):
    response = api("PUT", "/api/organizations/org-a/database", data=body, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer tdc_wrong", "Basic abc", "Bearer " + "x" * 500])
def test_401_for_missing_or_invalid_tokens(api, header):
    headers = {"Authorization": header} if header else {}
    response = api("GET", "/api/organizations/org-a/database", role=None, headers=headers)
    assert response.status_code == 401 and response.get_json()["success"] is False


def test_401_for_a_session_cookie_without_token(api):
    login(api.client, "owner@example.org")
    assert api("GET", "/api/organizations", role=None).status_code == 401


def test_403_for_a_viewer_writing(api, databases):
    assert (
        api(
            "PUT", "/api/organizations/org-a/database", role="viewer", json={"databaseUrl": databases["tenant_a"]}
        ).status_code
        == 403
    )
    assert (
        api(
            "POST", "/api/organizations/org-a/database/test", role="viewer", json={"databaseUrl": databases["tenant_a"]}
        ).status_code
        == 403
    )
    assert api("GET", "/api/organizations/org-a/database", role="viewer").status_code == 200


def test_404_for_unknown_and_out_of_scope_organizations(api):
    add_admin(api.app, "scoped@example.org", "owner", orgs=("org-b",))
    scoped = create_token(api.app, "scoped@example.org")
    response = api("GET", "/api/organizations/nope/database")
    assert response.status_code == 404 and response.get_json()["error"]["message"] == "Organization not found"
    headers = {"Authorization": f"Bearer {scoped}"}
    for method, path in (
        ("GET", "/api/organizations/org-a/database"),
        ("PUT", "/api/organizations/org-a/database"),
        ("POST", "/api/organizations/org-a/database/test"),
    ):
        assert api(method, path, role=None, headers=headers, json={"databaseUrl": None}).status_code == 404
    listed = api("GET", "/api/organizations", role=None, headers=headers).get_json()["data"]
    assert [org["organizationId"] for org in listed] == ["org-b"]


def test_422_for_invalid_or_failing_urls(api, databases):
    for url in ("mysql://u:p@127.0.0.1/db", f"postgresql://u:p@127.0.0.1:{free_port()}/db", databases["main"]):
        response = api("PUT", "/api/organizations/org-a/database", json={"databaseUrl": url})
        assert response.status_code == 422
    assert sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""") == [(None,)]
    forced = api(
        "PUT",
        "/api/organizations/org-a/database",
        json={"databaseUrl": f"postgresql://u:p@127.0.0.1:{free_port()}/db", "force": True},
    )
    assert forced.status_code == 200


def test_429_when_rate_limited(make_app):
    app = make_app(TENANT_TEST_RATE_LIMIT="2/minute")
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a")
    headers = {"Authorization": f"Bearer {create_token(app, 'owner@example.org')}"}
    client = app.test_client()
    codes = [
        client.post(
            "/api/organizations/org-a/database/test",
            headers=headers,
            json={"databaseUrl": "postgresql://u:p@127.0.0.1:1/db"},
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    body = client.post("/api/organizations/org-a/database/test", headers=headers).get_json()
    assert body["success"] is False and body["error"]["code"]


@pytest.mark.parametrize("password", ["p@ss:w/rd", "100%#?+", "été Ωμέγα"])
def test_passwords_with_special_characters_round_trip(api, databases, password):
    url = with_login(databases["tenant_a"], password=password)
    assert api("PUT", "/api/organizations/org-a/database", json={"databaseUrl": url}).status_code == 200
    stored = sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-a'""")[0][0]
    from app.tenancy.urls import parse_database_url

    assert parse_database_url(stored, allow_sqlite=False).password == password


def test_canary_password_never_leaves_the_server(api, databases, caplog):
    caplog.set_level(logging.DEBUG)
    url = with_login(databases["tenant_a"], password=CANARY)
    dead = f"postgresql://u:{CANARY}@127.0.0.1:{free_port()}/db"
    bodies = [
        api("PUT", "/api/organizations/org-a/database", json={"databaseUrl": url}),
        api("GET", "/api/organizations/org-a/database"),
        api("GET", "/api/organizations"),
        api("POST", "/api/organizations/org-a/database/test", json={"databaseUrl": dead}),
        api("POST", "/api/organizations/org-a/database/test"),
        api("PUT", "/api/organizations/org-b/database", json={"databaseUrl": dead}),
        api("PUT", "/api/organizations/org-b/database", json={"databaseUrl": "mysql://u:" + CANARY + "@h/db"}),
    ]
    login(api.client, "owner@example.org")
    pages = [
        api.client.get(path)
        for path in (
            "/organizations",
            "/organizations/org-a",
            "/organizations/org-b",
            "/organizations/org-a/donors",
            "/system",
        )
    ]
    for response in bodies + pages:
        assert CANARY not in response.get_data(as_text=True)
    assert CANARY not in caplog.text
    audit = sql(databases["main"], 'SELECT action, outcome, detail, "actorEmail" FROM "AuditEvent"')
    assert len(audit) >= 5 and CANARY not in str(audit)


def test_openapi_document_is_served_and_valid(api):
    from jsonschema.validators import Draft202012Validator

    document = api.client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.") and "/api/organizations/{org_id}/database" in document["paths"]
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_a_rate_limited_test_from_the_page_gets_json_with_retry_after(make_app):
    """The page's script asks for JSON: the 11th test in a minute is a 429 it can read, not an HTML page."""
    app = make_app(TENANT_TEST_RATE_LIMIT="1/minute")
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a")
    client = app.test_client()
    login(client, "owner@example.org")
    token = csrf_token(client.get("/organizations/org-a").get_data(as_text=True))
    answers = [
        client.post(
            "/organizations/org-a/database/test", data={"csrf_token": token}, headers={"Accept": "application/json"}
        )
        for _ in range(2)
    ]
    assert answers[0].status_code == 200 and answers[1].status_code == 429
    retry = int(answers[1].headers["Retry-After"])
    assert 1 <= retry <= 61  # the window of "1/minute", rounded up
    error = answers[1].get_json()["error"]
    assert error["code"] == "rate_limited" and f"Try again in {retry} s." in error["message"]
    page = client.post("/organizations/org-a/database/test", data={"csrf_token": token})
    assert page.status_code == 429 and "Try again in" in page.get_data(as_text=True) and page.headers["Retry-After"]
