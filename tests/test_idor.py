"""IDOR: every /organizations/<id>/... and /api/... route, tried by an admin out of scope, is a 404."""

import pytest

from tests.helpers import add_admin, add_donors, add_org, csrf_token, login


def org_routes(app):
    for rule in app.url_map.iter_rules():
        if "org_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.rule, method


def test_every_organization_route_is_covered(make_app):
    routes = set(org_routes(make_app()))
    assert ("/organizations/<org_id>/donors/<donor_id>", "GET") in routes
    assert ("/api/organizations/<org_id>/database", "PUT") in routes
    assert len(routes) >= 12


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_out_of_scope_admin_gets_404_on_every_route(app, databases, role):
    add_org(app, "org-mine", "Mine")
    add_org(app, "org-theirs", "Theirs", database_url=databases["tenant_a"])
    donor = add_donors(databases["main"], "org-theirs", ["Secret"])[0]
    add_admin(app, "scoped@example.org", role, orgs=("org-mine",))
    client = app.test_client()
    login(client, "scoped@example.org")
    token = app.test_cli_runner().invoke(args=["create-token", "scoped@example.org"]).output.strip().splitlines()[-1]
    csrf = csrf_token(client.get("/organizations/org-mine").get_data(as_text=True))
    for rule, method in org_routes(app):
        path = rule.replace("<org_id>", "org-theirs").replace("<donor_id>", donor)
        if path.startswith("/api/"):
            response = client.open(
                path, method=method, headers={"Authorization": f"Bearer {token}"}, json={"databaseUrl": None}
            )
        else:
            response = client.open(path, method=method, data={"csrf_token": csrf, "database_url": "", "confirm": "y"})
        assert response.status_code == 404, (method, rule, response.status_code)
        assert "Secret" not in response.get_data(as_text=True)
    # and nothing changed
    from tests.helpers import sql

    assert sql(databases["main"], """SELECT "databaseUrl" FROM "Organization" WHERE id = 'org-theirs'""") == [
        (databases["tenant_a"],)
    ]
