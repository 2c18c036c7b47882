"""usernames unique without case (login matches lower(username))

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # Existing case variants ("Jan" next to "jan") cannot both log in; which one keeps the name is for the
    # firm to decide, so the migration names them and stops instead of renaming anyone.
    doubles = op.get_bind().execute(sa.text(
        "SELECT lower(username) FROM identity.users GROUP BY lower(username) HAVING count(*) > 1")).scalars().all()
    if doubles:
        raise RuntimeError("usernames that differ only in case; rename all but one of each first: "
                           + ", ".join(sorted(doubles)))
    # an expression index: PostgreSQL and SQLite (the embedded default) both have them
    op.create_index('ux_users_username_lower', 'users', [sa.text('lower(username)')], unique=True,
                    schema='identity')


def downgrade():
    op.drop_index('ux_users_username_lower', table_name='users', schema='identity')
