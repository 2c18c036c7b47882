"""queued filings: recorded first, submitted to the channel outside that transaction, idempotently

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_LIVE = "status IN ('submitted', 'accepted')"
NEW_LIVE = "status IN ('queued', 'submitted', 'accepted')"


def upgrade():
    with op.batch_alter_table('filings', schema='filing') as batch_op:
        batch_op.add_column(sa.Column('submission_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('outcome_unknown', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('pdf', sa.LargeBinary(), nullable=True))
        batch_op.drop_index('uq_filing_live_per_approval', postgresql_where=sa.text(OLD_LIVE),
                            sqlite_where=sa.text(OLD_LIVE))
        batch_op.create_index('uq_filing_live_per_approval', ['approval_id'], unique=True,
                              postgresql_where=sa.text(NEW_LIVE), sqlite_where=sa.text(NEW_LIVE))
        batch_op.create_index('uq_filing_submission_id', ['submission_id'], unique=True)
        batch_op.create_index('ix_filing_queued_due', ['next_attempt_at'], unique=False,
                              postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))
    with op.batch_alter_table('digipoort_submissions', schema='filing') as batch_op:
        batch_op.add_column(sa.Column('submission_id', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_digipoort_submission_id', ['submission_id'], unique=True)


def downgrade():
    with op.batch_alter_table('digipoort_submissions', schema='filing') as batch_op:
        batch_op.drop_index('uq_digipoort_submission_id')
        batch_op.drop_column('submission_id')
    with op.batch_alter_table('filings', schema='filing') as batch_op:
        batch_op.drop_index('ix_filing_queued_due', postgresql_where=sa.text("status = 'queued'"),
                            sqlite_where=sa.text("status = 'queued'"))
        batch_op.drop_index('uq_filing_submission_id')
        batch_op.drop_index('uq_filing_live_per_approval', postgresql_where=sa.text(NEW_LIVE),
                            sqlite_where=sa.text(NEW_LIVE))
        batch_op.create_index('uq_filing_live_per_approval', ['approval_id'], unique=True,
                              postgresql_where=sa.text(OLD_LIVE), sqlite_where=sa.text(OLD_LIVE))
        batch_op.drop_column('pdf')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('outcome_unknown')
        batch_op.drop_column('attempts')
        batch_op.drop_column('submission_id')
