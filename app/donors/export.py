"""CSV export of a donor search, streamed in constant memory from a server-side cursor."""
import csv
import io
from collections.abc import Iterator

from app.donors.browse import filtered, ordered
from app.tenancy.scoping import TenantSession

HEADER = ("id", "firstName", "lastName", "email", "phone", "addressLine1", "city", "state", "postalCode",
          "country", "lifetimeTotal", "giftCount", "lastGiftDate", "createdAt")
BATCH = 2000
# A cell starting with one of these is a formula to a spreadsheet: exported donor data
# must not be able to run anything on the administrator's machine.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def donor_csv(session: TenantSession, filters: dict) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    base, params = filtered(filters, "export")
    stmt = ordered(base, filters.get("sort", "name"))
    if session.get_bind().dialect.name == "postgresql":
        # One snapshot for the whole file (the pages run in autocommit), and the
        # transaction a server-side cursor needs.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    result = session.rows(stmt.execution_options(yield_per=BATCH), params)
    for rows in result.partitions():
        writer.writerows([_cell(value) for value in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
