"""Which database an operation writes to: the main one, a dedicated one, or an organization's current one."""

from sqlalchemy.engine import URL

from app.models import Organization
from app.operations.transfer import TransferError, WritableDatabase
from app.tenancy.service import Tenancy
from app.tenancy.urls import behind_pooler

# Moves, backups and migrations hold session state (locks, a snapshot, start-up settings)
# that a transaction-mode pooler does not keep between transactions.
DIRECT_NEEDED = (
    "this database is reached through a transaction-mode pooler (?pgbouncer=true): moves, backups and "
    "migrations need a direct connection; give its direct URL (for Supabase, port 5432)"
)


def writable(state: Tenancy, url: URL) -> WritableDatabase:
    """A writable connection to url with the tenant connect timeout and the operator's TLS settings."""
    if behind_pooler(url):
        raise TransferError(DIRECT_NEEDED)
    return WritableDatabase(url, state.config["TENANT_CONNECT_TIMEOUT"], state.policy.connect_extras())


def writable_main(state: Tenancy) -> WritableDatabase:
    if state.main_url.get_backend_name() != "postgresql":
        raise TransferError(
            "moves and backups need a PostgreSQL main database; start the console on one with "
            "DATABASE_URL=postgresql://user:password@host:5432/console make run"
        )
    return WritableDatabase(state.main_url, state.config["TENANT_CONNECT_TIMEOUT"])


def current_database(state: Tenancy, org: Organization) -> tuple[WritableDatabase, bool]:
    """Where org's rows live now, and whether that is a dedicated database."""
    if state.uses_dedicated(org):
        return writable(state, state.dedicated_url(org)), True
    return writable_main(state), False
