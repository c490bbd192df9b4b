"""Schema drift: a database at the Alembic head whose tenant tables' objects are not what head creates.

The revision says which migrations ran, not that their work is still there: an index
dropped by hand, a trigger disabled or replaced, a column altered. The fingerprint lists
the tenant tables' columns, constraints, indexes and triggers (with a digest of each
trigger function's body) and compares them with expected_schema.json, written from a
freshly migrated database (tests/test_schema.py fails when it is out of date; regenerate
it with `.venv/bin/python -m app.tenancy.fingerprint postgresql://.../fresh_db`).
"""

import json
import sys
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

EXPECTED_FILE = Path(__file__).with_name("expected_schema.json")
TABLES = ["Donor", "Donation", "DonorPreference", "Campaign"]
# Made only where the server lets the migration create pg_trgm/btree_gin: absent is not drift.
OPTIONAL = {"index ix_Donor_org_name_trgm"}
SHOWN = 5  # differences named in a message; the rest are counted

QUERY = """
WITH t AS (
  SELECT c.oid, c.relname FROM pg_class c
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%(tables)s) AND c.relkind = 'r'
)
SELECT 'column ' || t.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
UNION ALL
SELECT 'constraint ' || t.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
FROM t JOIN pg_constraint k ON k.conrelid = t.oid
UNION ALL
SELECT 'index ' || i.relname, replace(pg_get_indexdef(i.oid), current_schema() || '.', '')
FROM t JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class i ON i.oid = x.indexrelid
UNION ALL
SELECT 'trigger ' || t.relname || '.' || g.tgname,
       replace(pg_get_triggerdef(g.oid), current_schema() || '.', '') || ' [' || g.tgenabled::text || '] '
       || md5(p.prosrc)
FROM t JOIN pg_trigger g ON g.tgrelid = t.oid AND NOT g.tgisinternal JOIN pg_proc p ON p.oid = g.tgfoid
"""


def read(conn) -> dict[str, str]:
    """The fingerprint of the database behind conn (a psycopg connection), as {object: definition}."""
    return dict(conn.execute(QUERY, {"tables": TABLES}).fetchall())


@lru_cache(maxsize=1)
def expected() -> dict[str, str]:
    return json.loads(EXPECTED_FILE.read_text())


def differences(actual: dict[str, str]) -> list[str]:
    """What head creates and this database lacks or has otherwise (extra objects are the operator's own)."""
    found = []
    for name, definition in sorted(expected().items()):
        if name not in actual:
            if name not in OPTIONAL:
                found.append(f"missing {name}")
        elif actual[name] != definition:
            found.append(f"changed {name}")
    return found


def describe(found: list[str]) -> str:
    shown = "; ".join(found[:SHOWN])
    if len(found) <= SHOWN:
        return shown
    return _l("%(objects)s and %(more)d more", objects=shown, more=len(found) - SHOWN)


if __name__ == "__main__":  # write expected_schema.json from a freshly migrated database
    import psycopg

    with psycopg.connect(sys.argv[1]) as connection:
        print(json.dumps(read(connection), indent=1, sort_keys=True))
