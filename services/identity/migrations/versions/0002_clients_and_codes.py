"""clients, client users, activation codes, SMS challenges, login throttle

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('pin_issued_at', sa.DateTime(), nullable=True), schema='identity')
    op.create_table(
        'login_throttle',
        sa.Column('username_key', sa.String(length=150), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('username_key'),
        schema='identity')
    op.create_table(
        'clients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=50), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('legal_form', sa.String(length=100), nullable=True),
        sa.Column('kvk', sa.String(length=8), nullable=True),
        sa.Column('bsn_encrypted', sa.LargeBinary(), nullable=True),
        sa.Column('rsin', sa.String(length=9), nullable=True),
        sa.Column('vat', sa.String(length=20), nullable=True),
        sa.Column('street', sa.String(length=200), nullable=True),
        sa.Column('house_number', sa.String(length=20), nullable=True),
        sa.Column('postcode', sa.String(length=10), nullable=True),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('country', sa.String(length=100), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('phone', sa.String(length=30), nullable=True),
        sa.Column('mobile', sa.String(length=20), nullable=True),
        sa.Column('contact', sa.String(length=200), nullable=True),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('import_id', sa.Integer(), nullable=True),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['identity.branches.id'], ),
        sa.ForeignKeyConstraint(['firm_id'], ['identity.firms.id'], ),
        sa.ForeignKeyConstraint(['group_id'], ['identity.groups.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('firm_id', 'number'),
        schema='identity')
    op.create_index('ix_clients_firm_name', 'clients', ['firm_id', 'name', 'id'], schema='identity')
    op.create_index('ix_identity_clients_branch_id', 'clients', ['branch_id'], schema='identity')
    op.create_table(
        'activation_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['identity.users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code_hash'),
        schema='identity')
    op.create_index('ix_identity_activation_codes_user_id', 'activation_codes', ['user_id'], schema='identity')
    op.create_table(
        'client_user_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('superuser', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['identity.clients.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['identity.users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'client_id'),
        schema='identity')
    op.create_index('ix_identity_client_user_links_client_id', 'client_user_links', ['client_id'], schema='identity')
    op.create_index('ix_identity_client_user_links_user_id', 'client_user_links', ['user_id'], schema='identity')
    op.create_table(
        'sms_challenges',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('binding', sa.String(length=64), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('mobile', sa.String(length=20), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['identity.users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        schema='identity')
    op.create_index('ix_identity_sms_challenges_binding', 'sms_challenges', ['binding'], schema='identity')
    op.create_index('ix_identity_sms_challenges_user_id', 'sms_challenges', ['user_id'], schema='identity')
    if op.get_bind().dialect.name == "postgresql":
        # the search box: substring match on folded "name number kvk" through a trigram index
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_clients_search_trgm ON identity.clients USING gin (search_text gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS identity.ix_clients_search_trgm")
    for table in ('sms_challenges', 'client_user_links', 'activation_codes', 'clients', 'login_throttle'):
        op.drop_table(table, schema='identity')
    op.drop_column('users', 'pin_issued_at', schema='identity')
