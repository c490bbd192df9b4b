"""Is a database at the code's Alembic head? The guide's "Schema mismatch", made precise."""

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Connection

from app.command_hint import flask_command

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class SchemaStatus:
    code: str  # ok | schema_missing | schema_behind | schema_ahead
    revision: str | None
    head: str

    @property
    def ok(self) -> bool:
        return self.code == "ok"

    @property
    def message(self) -> str:
        """Lazy: in the reader's language wherever it is shown (English in commands)."""
        texts = {
            "ok": _l("Schema at head (%(head)s).", head=self.head),
            "schema_missing": _l("The database has no schema: its migrations were never run."),
            "schema_behind": _l(
                "The database is at revision %(revision)s, behind head %(head)s.",
                revision=self.revision,
                head=self.head,
            ),
            "schema_ahead": _l(
                "The database is at revision %(revision)s, which this console does not know "
                "(a newer version of the console migrated it).",
                revision=self.revision,
            ),
        }
        return texts[self.code]

    @property
    def hint(self) -> str:
        if self.code == "schema_ahead":
            return _l("Deploy the newer console version, or point the organization at another database.")
        command = f'DATABASE_URL="<url>" {flask_command("db upgrade")}'
        return _l("Run the migrations on it: %(command)s", command=command)


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    return _script().get_current_head()


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in _script().walk_revisions())


def read_revision(conn) -> str | None:
    """The Alembic revision of the database behind conn, None when it has no alembic_version
    table. conn: a SQLAlchemy Connection, or a psycopg or sqlite3 connection. The table is
    looked up first, so a missing one raises nothing (and aborts no transaction)."""
    if isinstance(conn, Connection):
        run, sqlite = conn.exec_driver_sql, conn.dialect.name == "sqlite"
    else:
        run, sqlite = conn.execute, isinstance(conn, sqlite3.Connection)
    exists = (
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        if sqlite
        else "SELECT to_regclass('alembic_version') IS NOT NULL"
    )
    if not run(exists).fetchone()[0]:
        return None
    row = run("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def check_schema(connection: Connection) -> SchemaStatus:
    return status_for(read_revision(connection))


def status_for(revision: str | None) -> SchemaStatus:
    """Where a database's Alembic revision stands against the code's head."""
    head = head_revision()
    if revision is None:
        return SchemaStatus("schema_missing", None, head)
    if revision == head:
        return SchemaStatus("ok", revision, head)
    if revision in known_revisions():
        return SchemaStatus("schema_behind", revision, head)
    return SchemaStatus("schema_ahead", revision, head)
