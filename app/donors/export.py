"""CSV export of a donor search, streamed in constant memory from a server-side cursor."""

from collections.abc import Iterator

from app.csv_export import csv_lines
from app.donors.browse import EXPORT_COLUMNS, filtered, ordered
from app.tenancy.scoping import TenantSession

HEADER = tuple(column.expression.name for column in EXPORT_COLUMNS)  # the guide's column names
BATCH = 2000


def donor_csv(session: TenantSession, filters: dict) -> Iterator[str]:
    base, params = filtered(filters, "export")
    stmt = ordered(base, filters.get("sort", "name"))
    if session.get_bind().dialect.name == "postgresql":
        # One snapshot for the whole file (the pages run in autocommit), and the
        # transaction a server-side cursor needs.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    result = session.rows(stmt.execution_options(yield_per=BATCH), params)
    yield from csv_lines(HEADER, result.partitions())
