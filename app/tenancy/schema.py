"""Is a database at the code's Alembic head? The guide's "Schema mismatch", made precise."""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
FIX_COMMAND = 'DATABASE_URL="<url>" flask --app wsgi db upgrade'


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
        return {
            "ok": f"Schema at head ({self.head}).",
            "schema_missing": "The database has no schema: its migrations were never run.",
            "schema_behind": f"The database is at revision {self.revision}, behind head {self.head}.",
            "schema_ahead": f"The database is at revision {self.revision}, which this console does not know "
                            "(a newer version of the console migrated it).",
        }[self.code]

    @property
    def hint(self) -> str:
        if self.code == "schema_ahead":
            return "Deploy the newer console version, or point the organization at another database."
        return f"Run the migrations on it: {FIX_COMMAND}"


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


def check_schema(connection: Connection) -> SchemaStatus:
    try:
        with connection.begin_nested() if connection.in_transaction() else connection.begin():
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        if _is_missing_table(exc):
            return status_for(None)
        raise
    return status_for(revision)


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


def _is_missing_table(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "42P01" or "no such table" in str(exc.orig).lower()
