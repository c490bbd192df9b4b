"""donor search indexes: email prefix and name substring (PostgreSQL)

Email search is by prefix, case-insensitive: lower(email) with text_pattern_ops serves
LIKE 'abc%'. Name search is by substring: a trigram GIN index, led by "organizationId"
through btree_gin, when the server lets us create the pg_trgm and btree_gin extensions
(a managed database may not); without it the search still works, only slower.

Revision ID: a7d31f0c9b42
Revises: c4e4aa56de15
Create Date: 2026-11-27 16:05:00
"""
from alembic import op
import sqlalchemy as sa

revision = "a7d31f0c9b42"
down_revision = "c4e4aa56de15"
branch_labels = None
depends_on = None

NAME_EXPRESSION = """lower("firstName" || ' ' || "lastName")"""


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute('CREATE INDEX "ix_Donor_org_email_prefix" ON "Donor" ("organizationId", lower(email) text_pattern_ops)')
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS btree_gin"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return
    savepoint.commit()
    op.execute(f'CREATE INDEX "ix_Donor_org_name_trgm" ON "Donor" USING gin ("organizationId", ({NAME_EXPRESSION}) gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute('DROP INDEX IF EXISTS "ix_Donor_org_name_trgm"')
    op.execute('DROP INDEX IF EXISTS "ix_Donor_org_email_prefix"')
