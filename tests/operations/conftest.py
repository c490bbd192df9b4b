import psycopg
import pytest

from app.operations.transfer import org_states
from tests.helpers import sql


def states(url, org_id):
    with psycopg.connect(url, options="-c TimeZone=UTC -c DateStyle=ISO") as conn:
        return org_states(conn, org_id)


def stored_url(databases, org_id):
    return sql(databases["main"], 'SELECT "databaseUrl" FROM "Organization" WHERE id = %s', (org_id,))[0][0]


@pytest.fixture
def loaded(app, runner, databases):
    """org-m in shared mode with demo donors, donations, preferences and campaigns."""
    result = runner.invoke(args=["demo-data", "--donors", "400", "--org", "org-m"])
    assert result.exit_code == 0, result.output
    return states(databases["main"], "org-m")
