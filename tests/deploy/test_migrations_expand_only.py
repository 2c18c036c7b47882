"""Every migration's upgrade() only expands the schema (docs/deploy.md §5), so the previous release's pods
keep working during a rolling upgrade; a contracting migration must say why it is safe (CONTRACT = ...)."""
from pathlib import Path

import pytest

from tests.deploy.migration_rules import problems

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(p for p in ROOT.glob("services/*/migrations/versions/*.py") if p.name != "__init__.py")


def test_there_are_migrations_to_check():
    services = {p.parts[-4] for p in MIGRATIONS}
    assert {"identity", "approval", "filing", "letters", "notify", "import"} <= services


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: f"{p.parts[-4]}/{p.stem}")
def test_upgrade_only_expands_the_schema(path):
    assert problems(path.read_text(), str(path.relative_to(ROOT))) == []


HEADER = "from alembic import op\nimport sqlalchemy as sa\n\n"


@pytest.mark.parametrize("body, complaint", [
    ("    op.drop_column('users', 'pin', schema='identity')", "drops a column"),
    ("    with op.batch_alter_table('users') as b:\n        b.drop_column('pin')", "drops a column"),
    ("    op.drop_table('news', schema='notify')", "drops a table"),
    ("    op.alter_column('users', 'email', nullable=False)", "changes a column"),
    ("    op.rename_table('a', 'b')", "renames a table"),
    ("    op.add_column('users', sa.Column('level', sa.Integer(), nullable=False))", "NOT NULL column"),
    ("    op.execute('ALTER TABLE identity.users DROP COLUMN pin')", "drops, renames or alters"),
    ("    op.execute(sa.text('ALTER TABLE x RENAME COLUMN a TO b'))", "drops, renames or alters"),
])
def test_a_contracting_migration_fails_the_rule(body, complaint):
    [found] = problems(HEADER + "def upgrade():\n" + body + "\n")
    assert complaint in found


def test_expanding_and_declared_contracts_pass():
    expanding = HEADER + (
        "def upgrade():\n"
        "    op.add_column('users', sa.Column('level', sa.Integer(), server_default='0', nullable=False))\n"
        "    op.add_column('users', sa.Column('note', sa.Text(), nullable=True))\n"
        "    op.create_index('ix', 'users', ['level'])\n"
        "def downgrade():\n"
        "    op.drop_column('users', 'level')\n")
    assert problems(expanding) == []
    declared = HEADER + "CONTRACT = 'release 3 no longer reads users.pin'\n\ndef upgrade():\n    op.drop_column('users', 'pin')\n"
    assert problems(declared) == []
