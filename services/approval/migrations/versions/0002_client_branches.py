"""client branches: a copy of identity's client → branch mapping, kept from its events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_branches',
    sa.Column('client_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('client_id'),
    schema='approval'
    )


def downgrade():
    op.drop_table('client_branches', schema='approval')
