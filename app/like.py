"""LIKE patterns built from what someone typed: %, _ and the escape character match themselves.

Use the patterns with escape=ESCAPE (SQLAlchemy's like(..., escape=ESCAPE)).
"""

ESCAPE = "\\"


def escape_like(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def prefix_pattern(text: str) -> str:
    return escape_like(text) + "%"


def contains_pattern(text: str) -> str:
    return "%" + escape_like(text) + "%"
