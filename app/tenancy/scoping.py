"""Every tenant query is scoped to one organization, in shared and in dedicated mode.

Even a dedicated URL that points at another organization's database shows none of that
organization's rows: every query starts from scoped() or scoped_select(), whose WHERE
names the organization, and joins name it in their ON clauses. The pages read columns, not
entities, through TenantSession.rows() and rows_pipelined(), which run statements on the
session's connection without the ORM session's per-statement work and always bind the
session's organization. Any ORM entity query (session.get, select(Model)) is filtered by
the session itself as well (SQLAlchemy's with_loader_criteria), as a second guard.
"""

from functools import cached_property

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import CursorResult, Select, bindparam, event, select
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, ORMExecuteState, Session, with_loader_criteria

from app.models import TENANT_MODELS


class TenantSession(Session):
    """A read-only Session bound to one organization's rows."""

    def __init__(self, *, organization_id: str, **kwargs):
        super().__init__(**kwargs)
        self.organization_id = organization_id

    @cached_property
    def scope_options(self) -> tuple:
        """Built on the first ORM statement, once per session rather than once per statement."""
        organization_id = self.organization_id
        return tuple(
            with_loader_criteria(model, lambda cls: cls.organization_id == organization_id, include_aliases=True)
            for model in TENANT_MODELS
        )

    def rows(self, stmt, params: dict | None = None) -> CursorResult:
        """Column rows of a scoped() statement, run on this session's connection; the
        organization bound is always this session's, whatever params holds."""
        return self.connection().execute(stmt, {**(params or {}), "org_id": self.organization_id})

    def rows_pipelined(self, *queries: tuple) -> list[list]:
        """The rows of independent (statement, params) pairs, like rows(), in one round trip
        (psycopg's pipeline mode) instead of one each; other drivers run them in turn.
        Either way, a row's columns read as attributes (named tuples under psycopg).

        The statements must be built once and reused, as the donor pages' are: their
        compiled SQL is cached by identity."""
        connection = self.connection()
        if connection.dialect.driver != "psycopg":
            return [list(self.rows(stmt, params)) for stmt, params in queries]
        driver = connection.connection.driver_connection
        sent = [
            (_compiled(stmt, connection.dialect), {**params, "org_id": self.organization_id})
            for stmt, params in queries
        ]
        try:
            with driver.pipeline():
                cursors = [
                    driver.cursor(row_factory=namedtuple_row).execute(
                        compiled.string, compiled.construct_params(params)
                    )
                    for compiled, params in sent
                ]
            return [cursor.fetchall() for cursor in cursors]
        except psycopg.Error as exc:
            # What Connection.execute does for a driver error: the SQLAlchemy exception the
            # error pages know, and a connection that broke is not given back to the pool.
            broken = connection.dialect.is_disconnect(exc, driver, None)
            if broken:
                connection.invalidate()
            raise DBAPIError.instance(
                sent[0][0].string, None, exc, psycopg.Error, connection_invalidated=broken, dialect=connection.dialect
            ) from None


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_to_organization(state: ORMExecuteState) -> None:
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*state.session.scope_options)


_compiled_sql: dict[tuple, Compiled] = {}


def _compiled(stmt, dialect: Dialect) -> Compiled:
    """stmt compiled once per kind of server: each tenant engine has a dialect object of its
    own, but the SQL depends only on the dialect's class and the server's version."""
    key = stmt, type(dialect), dialect.server_version_info
    compiled = _compiled_sql.get(key)
    if compiled is None:
        if len(_compiled_sql) >= 512:  # statements are built once per shape; this only bounds a surprise
            _compiled_sql.clear()
        compiled = _compiled_sql[key] = stmt.compile(dialect=dialect)
    return compiled


def scoped_select(session: TenantSession, model, *columns) -> Select:
    """select(model or columns) already filtered to the session's organization.

    Columns are labelled with their attribute names ("first_name", not "firstName"), the
    names rows carry when run through rows()."""
    stmt = select(*(_by_attribute_name(column) for column in columns)) if columns else select(model)
    return stmt.where(model.organization_id == session.organization_id)


def scoped(model, *columns) -> Select:
    """select(columns) filtered by the organization that TenantSession.rows() binds: built
    once, run for any organization. Labelled like scoped_select()."""
    stmt = select(*(_by_attribute_name(column) for column in columns))
    return stmt.where(model.organization_id == bindparam("org_id"))


def _by_attribute_name(column):
    if isinstance(column, InstrumentedAttribute) and column.key != column.expression.name:
        return column.label(column.key)
    return column
