"""Row counts that stay cheap: exact when small, otherwise the planner's estimate.

A COUNT(*) over a million rows on every page is what makes admin consoles slow; the
planner already knows roughly how many rows a scoped query returns.
"""
import json
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

EXACT_LIMIT = 100_000


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"about {self.value:,}"


def estimate(session: Session, stmt: Select) -> int | None:
    """The planner's row estimate for stmt (PostgreSQL), or None elsewhere."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    compiled = stmt.compile(dialect=connection.dialect)
    raw = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params).scalar()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return int(plan[0]["Plan"]["Plan Rows"])


def count_or_estimate(session: Session, stmt: Select, limit: int = EXACT_LIMIT) -> Count:
    """stmt must already be scoped to one organization (scoped_select)."""
    guess = estimate(session, stmt)
    if guess is not None and guess > limit:
        return Count(guess, exact=False)
    return Count(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())), exact=True)
