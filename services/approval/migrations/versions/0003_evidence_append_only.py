"""evidence is append-only in the database itself: UPDATE and DELETE of a record are refused

The hash chain detects a changed or removed record afterwards; this trigger stops the portal (or
anyone using its database account by mistake) from changing one at all. Someone who owns the table
can still switch the trigger off: that is what the chain is for.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:00:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

MESSAGE = "approval.evidence is append-only"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION approval.evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END $$""")
        op.execute("CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON approval.evidence "
                   "FOR EACH ROW EXECUTE FUNCTION approval.evidence_append_only()")
        op.execute("CREATE TRIGGER evidence_append_only_truncate BEFORE TRUNCATE ON approval.evidence "
                   "FOR EACH STATEMENT EXECUTE FUNCTION approval.evidence_append_only()")
    else:  # the embedded SQLite of `make demo`: the schema is an attached database
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER approval.evidence_no_{action.lower()} BEFORE {action} ON evidence "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER evidence_append_only_truncate ON approval.evidence")
        op.execute("DROP TRIGGER evidence_append_only ON approval.evidence")
        op.execute("DROP FUNCTION approval.evidence_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER approval.evidence_no_{action}")
