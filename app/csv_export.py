"""CSV downloads: streamed in constant memory, every cell safe to open in a spreadsheet."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

# A cell starting with one of these is a formula to a spreadsheet (leading spaces are
# skipped by some): exported data must not be able to run anything on the reader's machine.
FORMULA_STARTS = ("=", "+", "-", "@")
CONTROL_STARTS = ("\t", "\r")
FLUSH_AT = 64 * 1024


def safe_cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, str) and (text.startswith(CONTROL_STARTS) or text.lstrip().startswith(FORMULA_STARTS)):
        return "'" + text
    return text


def csv_lines(header: Sequence[str], batches: Iterable[Iterable[Sequence]]) -> Iterator[str]:
    """The CSV text of header and the rows of each batch, a chunk of about FLUSH_AT characters at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for rows in batches:
        writer.writerows([safe_cell(value) for value in row] for row in rows)
        if buffer.tell() >= FLUSH_AT:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(lines: Iterator[str], filename: str) -> Response:
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
