import pytest
from sqlalchemy.engine import make_url

from tests.helpers import add_admin, add_campaign_with_gift, add_donors, add_org, login


@pytest.fixture
def world(make_app, databases, request):
    """Org A dedicated (tenant_a), org B shared, org C dedicated on A's database too.

    Decoys everywhere: A's and C's leftovers in the main database, B's rows in tenant_a,
    so any missing filter or wrong routing shows someone else's donors.
    """

    def build(pooled: bool = False, **overrides):
        """pooled: A and C reach tenant_a through PgBouncer in transaction mode (?pgbouncer=true)."""
        overrides.setdefault("ENABLE_MULTI_DATABASE", True)
        app = make_app(**overrides)
        tenant_a = databases["tenant_a"]
        if pooled:
            tenant_a = request.getfixturevalue("pgbouncer").url(make_url(tenant_a).database)
        add_org(app, "org-a", "Alpha Aid", database_url=tenant_a)
        add_org(app, "org-b", "Beta Benevolent")
        add_org(app, "org-c", "Gamma Giving", database_url=tenant_a)
        add_admin(app, "owner@example.org", "owner")
        rows = {
            "a": add_donors(databases["tenant_a"], "org-a", ["Adams", "Allen"]),
            "c": add_donors(databases["tenant_a"], "org-c", ["Carter", "Cole"]),
            "b": add_donors(databases["main"], "org-b", ["Baker", "Brown"]),
            "a_leftover": add_donors(databases["main"], "org-a", ["Old"], prefix="org-a-main"),
            "c_leftover": add_donors(databases["main"], "org-c", ["Stale"], prefix="org-c-main"),
            "b_decoy": add_donors(databases["tenant_a"], "org-b", ["Decoy"], prefix="org-b-tenant"),
        }
        for key, org, url in (
            ("a", "org-a", databases["tenant_a"]),
            ("c", "org-c", databases["tenant_a"]),
            ("b", "org-b", databases["main"]),
            ("b_decoy", "org-b", databases["tenant_a"]),
            ("a_leftover", "org-a", databases["main"]),
        ):
            add_campaign_with_gift(url, org, rows[key][0], f"camp-{key}")
        client = app.test_client()
        login(client, "owner@example.org")
        return app, client, rows

    return build
