"""Every tenant query is scoped to one organization, in shared and in dedicated mode.

Defense in depth: even a dedicated URL that points at another organization's database
shows none of that organization's rows, because the filter is applied by the session
itself to every ORM statement (SQLAlchemy's with_loader_criteria), and explicitly by
scoped_select() for readers of the code.
"""
from sqlalchemy import Select, event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from app.models import TENANT_MODELS


class TenantSession(Session):
    """A read-only Session bound to one organization's rows."""

    def __init__(self, *, organization_id: str, **kwargs):
        super().__init__(**kwargs)
        self.organization_id = organization_id
        # Built once per session rather than on each of a page's statements.
        self.scope_options = tuple(
            with_loader_criteria(model, lambda cls: cls.organization_id == organization_id, include_aliases=True)
            for model in TENANT_MODELS
        )


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_to_organization(state: ORMExecuteState) -> None:
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*state.session.scope_options)


def scoped_select(session: TenantSession, model, *columns) -> Select:
    """select(model or columns) already filtered to the session's organization."""
    stmt = select(*columns) if columns else select(model)
    return stmt.where(model.organization_id == session.organization_id)
