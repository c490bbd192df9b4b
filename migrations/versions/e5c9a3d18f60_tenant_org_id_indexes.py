"""("organizationId", id) on every tenant table

Moving, backing up and checksumming one organization walk its rows in id order, in
batches that resume where a killed run stopped; this index makes each batch a range
scan instead of a walk through every organization's rows.

Revision ID: e5c9a3d18f60
Revises: d2b8e61f4c07
Create Date: 2026-11-27 16:50:00
"""
from alembic import op

revision = "e5c9a3d18f60"
down_revision = "d2b8e61f4c07"
branch_labels = None
depends_on = None

TABLES = ("Campaign", "Donor", "DonorPreference", "Donation")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_org_id", table, ["organizationId", "id"], unique=True)


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_org_id", table)
