"""TenantSession.rows_pipelined(): several statements in one round trip, with what rows()
gives: the same rows, scoped to the session's organization, and the same errors."""

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, OperationalError

from app.models import Donor
from app.tenancy.engines import make_read_only_engine
from app.tenancy.scoping import TenantSession, scoped
from tests.helpers import add_donors, sql

BY_NAME = scoped(Donor, Donor.id, Donor.last_name).order_by(Donor.last_name, Donor.id)
NAMED = BY_NAME.where(Donor.last_name == bindparam("name"))
SLEEP = select(func.pg_sleep(bindparam("seconds")))
BACKEND = select(func.pg_backend_pid())


@pytest.fixture
def engine(databases, make_app):  # make_app: the tables are emptied afterwards
    engine = make_read_only_engine(
        make_url(databases["main"].replace("postgresql://", "postgresql+psycopg://", 1)),
        pool_size=1,
        max_overflow=0,
        connect_timeout=2,
        statement_timeout=0.3,
    )
    yield engine
    engine.dispose()


def session_for(engine, org: str) -> TenantSession:
    return TenantSession(bind=engine, organization_id=org)


def test_same_rows_as_one_at_a_time_and_only_the_sessions_organization(engine, databases):
    add_donors(databases["main"], "org-a", ["Alpha", "Beta", "Beta"])
    add_donors(databases["main"], "org-b", ["Beta", "Gamma"])
    with session_for(engine, "org-a") as session:
        together = session.rows_pipelined((BY_NAME, {}), (NAMED, {"name": "Beta", "org_id": "org-b"}))
        apart = [session.rows(BY_NAME).all(), session.rows(NAMED, {"name": "Beta"}).all()]
    assert [[tuple(row) for row in rows] for rows in together] == [[tuple(row) for row in rows] for rows in apart]
    assert [row.last_name for row in together[0]] == ["Alpha", "Beta", "Beta"]  # columns read as attributes
    assert len(together[1]) == 2  # org-b's Beta is not there, whatever params said


def test_a_statement_over_the_timeout_is_the_error_the_pages_turn_into_a_503(engine):
    with session_for(engine, "org-a") as session:
        with pytest.raises(OperationalError):
            session.rows_pipelined((BY_NAME, {}), (SLEEP, {"seconds": 2}))
        # The connection stays usable: the next statements run.
        assert session.rows_pipelined((BACKEND, {}))[0][0][0] > 0


def test_a_value_the_database_refuses_is_a_data_error(engine):
    with session_for(engine, "org-a") as session, pytest.raises(DataError):
        session.rows_pipelined((NAMED, {"name": "nul\x00byte"}))


def test_a_connection_that_broke_is_not_given_back_to_the_pool(engine, databases):
    with session_for(engine, "org-a") as session:
        first = session.rows_pipelined((BACKEND, {}))[0][0][0]
    sql(databases["main"], "SELECT pg_terminate_backend(%s)", (first,))
    with session_for(engine, "org-a") as session, pytest.raises(OperationalError) as caught:
        session.rows_pipelined((BACKEND, {}))
    assert caught.value.connection_invalidated
    with session_for(engine, "org-a") as session:
        assert session.rows_pipelined((BACKEND, {}))[0][0][0] != first
