"""operation jobs: moves started from the console, run by a worker, followed by the page

Revision ID: d9e3f5a7c2b8
Revises: c4a8e2f6b1d9
Create Date: 2026-11-28 02:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = "d9e3f5a7c2b8"
down_revision = "c4a8e2f6b1d9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "OperationJob",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organizationId", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("targetLabel", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="queued", nullable=False),
        sa.Column("phase", sa.Text(), nullable=True),
        sa.Column("copied", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("backlog", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lastPauseMs", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("actorEmail", sa.Text(), nullable=True),
        sa.Column("createdAt", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("updatedAt", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_OperationJob")),
    )
    op.create_index("ix_OperationJob_org_created", "OperationJob", ["organizationId", "createdAt"])


def downgrade():
    op.drop_index("ix_OperationJob_org_created", table_name="OperationJob")
    op.drop_table("OperationJob")
