"""initial schema: the guide's tables

Control-plane tables (main database only in use) and tenant tables, the same in every
database. CURRENT_TIMESTAMP rather than now() so SQLite and PostgreSQL share this file.

Revision ID: c4e4aa56de15
Revises: 
Create Date: 2026-11-27 15:58:34.462627

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e4aa56de15'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('AdminUser',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('passwordHash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), server_default='viewer', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('lastLoginAt', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('owner', 'viewer')", name=op.f('ck_AdminUser_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_AdminUser')),
    sa.UniqueConstraint('email', name=op.f('uq_AdminUser_email'))
    )
    op.create_table('Campaign',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('organizationId', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('goal', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('startDate', sa.Date(), nullable=True),
    sa.Column('endDate', sa.Date(), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_Campaign'))
    )
    with op.batch_alter_table('Campaign', schema=None) as batch_op:
        batch_op.create_index('ix_Campaign_org_name', ['organizationId', 'name'], unique=False)

    op.create_table('Donor',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('organizationId', sa.Text(), nullable=False),
    sa.Column('firstName', sa.Text(), nullable=False),
    sa.Column('lastName', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('addressLine1', sa.Text(), nullable=True),
    sa.Column('addressLine2', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('state', sa.Text(), nullable=True),
    sa.Column('postalCode', sa.Text(), nullable=True),
    sa.Column('country', sa.Text(), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updatedAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_Donor'))
    )
    with op.batch_alter_table('Donor', schema=None) as batch_op:
        batch_op.create_index('ix_Donor_org_createdAt', ['organizationId', 'createdAt', 'id'], unique=False)
        batch_op.create_index('ix_Donor_org_email', ['organizationId', 'email'], unique=False)
        batch_op.create_index('ix_Donor_org_lastName', ['organizationId', 'lastName', 'id'], unique=False)

    op.create_table('Organization',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('databaseUrl', sa.Text(), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updatedAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_Organization'))
    )
    op.create_table('AdminOrganization',
    sa.Column('adminId', sa.Integer(), nullable=False),
    sa.Column('organizationId', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['adminId'], ['AdminUser.id'], name=op.f('fk_AdminOrganization_adminId_AdminUser'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organizationId'], ['Organization.id'], name=op.f('fk_AdminOrganization_organizationId_Organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('adminId', 'organizationId', name=op.f('pk_AdminOrganization'))
    )
    op.create_table('ApiToken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('adminId', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('tokenHash', sa.String(length=64), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('lastUsedAt', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['adminId'], ['AdminUser.id'], name=op.f('fk_ApiToken_adminId_AdminUser'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ApiToken')),
    sa.UniqueConstraint('tokenHash', name=op.f('uq_ApiToken_tokenHash'))
    )
    with op.batch_alter_table('ApiToken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ApiToken_adminId'), ['adminId'], unique=False)

    op.create_table('AuditEvent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('actorId', sa.Integer(), nullable=True),
    sa.Column('actorEmail', sa.Text(), nullable=True),
    sa.Column('organizationId', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), server_default='ok', nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('ip', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actorId'], ['AdminUser.id'], name=op.f('fk_AuditEvent_actorId_AdminUser'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_AuditEvent'))
    )
    with op.batch_alter_table('AuditEvent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_AuditEvent_organizationId'), ['organizationId'], unique=False)

    op.create_table('Donation',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('organizationId', sa.Text(), nullable=False),
    sa.Column('donorId', sa.Text(), nullable=False),
    sa.Column('campaignId', sa.Text(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.Text(), server_default='USD', nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['campaignId'], ['Campaign.id'], name=op.f('fk_Donation_campaignId_Campaign'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['donorId'], ['Donor.id'], name=op.f('fk_Donation_donorId_Donor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_Donation'))
    )
    with op.batch_alter_table('Donation', schema=None) as batch_op:
        batch_op.create_index('ix_Donation_org_campaign', ['organizationId', 'campaignId'], unique=False)
        batch_op.create_index('ix_Donation_org_date', ['organizationId', 'date'], unique=False)
        batch_op.create_index('ix_Donation_org_donor_date', ['organizationId', 'donorId', 'date'], unique=False)

    op.create_table('DonorPreference',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('organizationId', sa.Text(), nullable=False),
    sa.Column('donorId', sa.Text(), nullable=False),
    sa.Column('emailOptIn', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('smsOptIn', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('mailOptIn', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('phoneOptIn', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('frequency', sa.Text(), nullable=True),
    sa.Column('updatedAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['donorId'], ['Donor.id'], name=op.f('fk_DonorPreference_donorId_Donor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_DonorPreference'))
    )
    with op.batch_alter_table('DonorPreference', schema=None) as batch_op:
        batch_op.create_index('ix_DonorPreference_org_donor', ['organizationId', 'donorId'], unique=True)

    op.create_table('User',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('organizationId', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['organizationId'], ['Organization.id'], name=op.f('fk_User_organizationId_Organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_User'))
    )
    with op.batch_alter_table('User', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_User_organizationId'), ['organizationId'], unique=False)



def downgrade():
    with op.batch_alter_table('User', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_User_organizationId'))

    op.drop_table('User')
    with op.batch_alter_table('DonorPreference', schema=None) as batch_op:
        batch_op.drop_index('ix_DonorPreference_org_donor')

    op.drop_table('DonorPreference')
    with op.batch_alter_table('Donation', schema=None) as batch_op:
        batch_op.drop_index('ix_Donation_org_donor_date')
        batch_op.drop_index('ix_Donation_org_date')
        batch_op.drop_index('ix_Donation_org_campaign')

    op.drop_table('Donation')
    with op.batch_alter_table('AuditEvent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_AuditEvent_organizationId'))

    op.drop_table('AuditEvent')
    with op.batch_alter_table('ApiToken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ApiToken_adminId'))

    op.drop_table('ApiToken')
    op.drop_table('AdminOrganization')
    op.drop_table('Organization')
    with op.batch_alter_table('Donor', schema=None) as batch_op:
        batch_op.drop_index('ix_Donor_org_lastName')
        batch_op.drop_index('ix_Donor_org_email')
        batch_op.drop_index('ix_Donor_org_createdAt')

    op.drop_table('Donor')
    with op.batch_alter_table('Campaign', schema=None) as batch_op:
        batch_op.drop_index('ix_Campaign_org_name')

    op.drop_table('Campaign')
    op.drop_table('AdminUser')
