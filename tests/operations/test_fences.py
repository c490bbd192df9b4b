"""After a move, the old location refuses the organization's writes (SQLSTATE 55000); moving
back lifts the fence; a move that fails leaves its source live and unfenced."""

import psycopg
import pytest

from app.operations.fences import is_fence_error
from tests.helpers import add_org, sql
from tests.operations.conftest import stored_url

NEW_DONOR = """INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName") VALUES (%s, %s, 'New', 'Writer')"""


def write(url, statement, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)


def test_old_location_refuses_the_moved_organization_and_only_it(app, runner, databases, new_database, loaded):
    add_org(app, "org-other", "Other")
    target = new_database("fenced")
    assert runner.invoke(args=["tenants", "move", "org-m", "--to", target]).exit_code == 0

    for statement, params in (
        (NEW_DONOR, ("late-1", "org-m")),
        ("""UPDATE "Donor" SET city = 'x' WHERE "organizationId" = 'org-m'""", ()),
        ("""DELETE FROM "Donation" WHERE "organizationId" = 'org-m'""", ()),
        ("""INSERT INTO "Campaign" (id, "organizationId", name) VALUES ('c-late', 'org-m', 'Late')""", ()),
    ):
        with pytest.raises(psycopg.Error) as refused:
            write(databases["main"], statement, params)
        assert refused.value.sqlstate == "55000" and is_fence_error(refused.value)
        assert "organization org-m moved to another database at " in str(refused.value)
        assert "re-read its databaseUrl" in str(refused.value)
    write(databases["main"], NEW_DONOR, ("other-1", "org-other"))  # other organizations write as before
    write(target, NEW_DONOR, ("new-1", "org-m"))  # and the new location takes org-m's writes
    assert sql(databases["main"], """SELECT count(*) FROM "Donor" WHERE id = 'late-1'""") == [(0,)]

    back = runner.invoke(args=["tenants", "move", "org-m", "--to-shared"])
    assert back.exit_code == 0, back.output
    write(databases["main"], NEW_DONOR, ("back-1", "org-m"))  # moving back lifts the fence
    with pytest.raises(psycopg.Error) as refused:
        write(target, NEW_DONOR, ("stale-1", "org-m"))  # and fences the place it left
    assert is_fence_error(refused.value)
    assert sql(databases["main"], """SELECT "movedTo" FROM "TenantFence" """) == []


def test_saving_a_target_that_does_not_hold_the_rows_is_refused(app, databases, new_database, loaded):
    """The switch guard: a save that would make org-m's donors vanish is refused (data_not_moved)."""
    from tests.helpers import add_admin, csrf_token, login

    add_admin(app, "owner@example.org", "owner")
    token = app.test_cli_runner().invoke(args=["create-token", "owner@example.org"]).output.strip().splitlines()[-1]
    empty = new_database("nodata")
    api = app.test_client()
    put = api.put(
        "/api/organizations/org-m/database", json={"databaseUrl": empty}, headers={"Authorization": f"Bearer {token}"}
    )
    assert put.status_code == 422 and put.get_json()["error"]["code"] == "data_not_moved"
    assert (
        "tenants move org-m" in put.get_json()["error"]["message"] or "holds none" in put.get_json()["error"]["message"]
    )
    assert stored_url(databases, "org-m") is None  # nothing stored

    page = app.test_client()
    login(page, "owner@example.org")
    form = {"csrf_token": csrf_token(page.get("/organizations/org-m").get_data(as_text=True)), "database_url": empty}
    refused = page.post("/organizations/org-m/database", data=form)
    assert refused.status_code == 422 and "tenants move org-m" in refused.get_data(as_text=True)
    assert stored_url(databases, "org-m") is None
    forced = page.post("/organizations/org-m/database", data={**form, "force": "y"})
    assert forced.status_code == 302 and stored_url(databases, "org-m") == empty  # an owner may still force it
