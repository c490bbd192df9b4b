"""Which database an operation writes to: the main one, a dedicated one, or an organization's current one."""

from sqlalchemy.engine import URL

from app.models import Organization
from app.operations.transfer import TransferError, WritableDatabase
from app.tenancy.service import Tenancy


def writable(state: Tenancy, url: URL) -> WritableDatabase:
    """A writable connection to url with the tenant connect timeout and the operator's TLS settings."""
    return WritableDatabase(url, state.config["TENANT_CONNECT_TIMEOUT"], state.policy.connect_extras())


def writable_main(state: Tenancy) -> WritableDatabase:
    if state.main_url.get_backend_name() != "postgresql":
        raise TransferError("moves and backups need a PostgreSQL main database (DATABASE_URL).")
    return WritableDatabase(state.main_url, state.config["TENANT_CONNECT_TIMEOUT"])


def current_database(state: Tenancy, org: Organization) -> tuple[WritableDatabase, bool]:
    """Where org's rows live now, and whether that is a dedicated database."""
    if state.uses_dedicated(org):
        return writable(state, state.dedicated_url(org)), True
    return writable_main(state), False
