"""schemathesis over the API, from the app's own /api/openapi.json: no 5xx, and every response
as the document describes it (status codes, content types, bodies)."""

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.helpers import add_admin, add_org


def test_api_conforms_to_its_openapi_document(make_app):
    app = make_app(
        TENANT_TEST_RATE_LIMIT="100000/minute", TENANT_CONNECT_TIMEOUT=2, TENANT_DB_ALLOWED_HOSTS="127.0.0.1,localhost"
    )  # generated hosts never reach DNS
    add_admin(app, "owner@example.org", "owner")
    add_org(app, "org-a", "Alpha")
    token = app.test_cli_runner().invoke(args=["create-token", "owner@example.org"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
            case.validate_response(response, headers=headers)

        check()
