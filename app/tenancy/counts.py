"""Row counts that stay cheap: exact when small, otherwise the planner's estimate.

A COUNT(*) over a million rows on every page is what makes admin consoles slow; the
planner already knows roughly how many rows a scoped query returns.
"""

import json
from dataclasses import dataclass
from functools import lru_cache

from flask_babel import format_decimal, gettext
from sqlalchemy import Select, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.visitors import InternalTraversal

from app.tenancy.scoping import TenantSession

EXACT_LIMIT = 100_000


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool

    def __str__(self) -> str:
        """In the reader's language: "1,234" or "about 1,234" ("environ 1 234")."""
        number = format_decimal(self.value)
        return number if self.exact else gettext("about %(number)s", number=number)


class Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) stmt, compiled through SQLAlchemy's statement cache like any
    query: compiling the donor list afresh for its estimate cost more than the EXPLAIN."""

    inherit_cache = True
    _traverse_internals = [("statement", InternalTraversal.dp_clauseelement)]
    # The result is one JSON column: none of the inner SELECT's columns is mapped to it
    # when the cached compilation serves a new statement.
    _all_selected_columns = ()

    def __init__(self, statement: Select):
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler, **kw) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def estimate(session: TenantSession, stmt: Select, params: dict) -> int | None:
    """The planner's row estimate for stmt (PostgreSQL), or None elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return plan_rows(session.rows(Explain(stmt), params).scalar())


def plan_rows(plan) -> int:
    """The estimated rows of an EXPLAIN (FORMAT JSON) result."""
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


@lru_cache(maxsize=64)
def explain(stmt: Select) -> Explain:
    """One Explain per statement, for TenantSession.rows_pipelined() (which caches by identity)."""
    return Explain(stmt)


def count_or_estimate(
    session: TenantSession, stmt: Select, params: dict | None = None, limit: int = EXACT_LIMIT, guess: int | None = None
) -> Count:
    """stmt must already be scoped to one organization (scoped_select, or scoped). guess is
    the planner's estimate when the caller already asked for it."""
    if guess is None:
        guess = estimate(session, stmt, params or {})
    if guess is not None and guess > limit:
        return Count(guess, exact=False)
    return Count(session.rows(_count_of(stmt), params).scalar(), exact=True)


@lru_cache(maxsize=64)
def _count_of(stmt: Select) -> Select:
    return select(func.count()).select_from(stmt.order_by(None).subquery())
