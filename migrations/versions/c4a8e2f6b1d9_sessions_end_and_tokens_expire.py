"""sessions that really end, and API tokens that can be revoked and expire

"AdminUser"."sessionGeneration": part of every console session's identity; sign-out, a
password reset and the lifting of a sign-in lock bump it, so every session made before
(and any cookie saved from one) stops working.
"ApiToken"."expiresAt" / "revokedAt": tokens older than this revision get 90 days from now.

Revision ID: c4a8e2f6b1d9
Revises: b7e2c9d4a1f3
Create Date: 2026-11-28 02:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "c4a8e2f6b1d9"
down_revision = "b7e2c9d4a1f3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("AdminUser") as batch:
        batch.add_column(sa.Column("sessionGeneration", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("ApiToken") as batch:
        batch.add_column(sa.Column("expiresAt", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revokedAt", sa.DateTime(timezone=True), nullable=True))
    interval = "now() + interval '90 days'" if op.get_bind().dialect.name == "postgresql" else "datetime('now', '+90 days')"
    op.execute(f'UPDATE "ApiToken" SET "expiresAt" = {interval}')


def downgrade():
    with op.batch_alter_table("ApiToken") as batch:
        batch.drop_column("revokedAt")
        batch.drop_column("expiresAt")
    with op.batch_alter_table("AdminUser") as batch:
        batch.drop_column("sessionGeneration")
