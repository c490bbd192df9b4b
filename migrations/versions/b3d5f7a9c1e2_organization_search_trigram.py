"""organization search by substring: trigram indexes on name and id (PostgreSQL)

The organization list's search matches a substring of the name or the id, case-insensitive
(ILIKE '%...%'). A trigram GIN index serves that at 10,000 organizations, as the donor
search's does; without the pg_trgm extension (a managed database may refuse it) the search
still works, only slower.

Revision ID: b3d5f7a9c1e2
Revises: d9e3f5a7c2b8
Create Date: 2026-11-28 04:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = "b3d5f7a9c1e2"
down_revision = "d9e3f5a7c2b8"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return
    savepoint.commit()
    op.execute('CREATE INDEX "ix_Organization_name_trgm" ON "Organization" USING gin (name gin_trgm_ops)')
    op.execute('CREATE INDEX "ix_Organization_id_trgm" ON "Organization" USING gin (id gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute('DROP INDEX IF EXISTS "ix_Organization_id_trgm"')
    op.execute('DROP INDEX IF EXISTS "ix_Organization_name_trgm"')
