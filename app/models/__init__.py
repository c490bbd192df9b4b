"""All tables share one metadata and one Alembic tree: the same schema everywhere."""

from app.models.main import AdminOrganization, AdminUser, ApiToken, AuditEvent, OperationJob, Organization, User
from app.models.tenant import TENANT_MODELS, Campaign, Donation, Donor, DonorPreference

__all__ = [
    "AdminOrganization",
    "AdminUser",
    "ApiToken",
    "AuditEvent",
    "OperationJob",
    "Organization",
    "User",
    "Campaign",
    "Donation",
    "Donor",
    "DonorPreference",
    "TENANT_MODELS",
]
