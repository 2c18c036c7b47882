"""filing's tables, in the ``filing`` schema."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from chassis.client_branches import ClientBranchColumns
from chassis.db import Base as _Base
from chassis.inbox import define_inbox
from chassis.outbox import define_outbox

SCHEMA = "filing"


class Base(_Base):
    __abstract__ = True
    metadata = sa.MetaData(schema=SCHEMA)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Filing(Base):
    """One submission of approved annual accounts to the KvK."""
    __tablename__ = "filings"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(index=True)
    branch_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[int] = mapped_column(index=True)
    client_name: Mapped[str] = mapped_column(sa.String(200))
    kvk: Mapped[str | None] = mapped_column(sa.String(8))
    approval_id: Mapped[int] = mapped_column(index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(30))
    reference: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # queued -> submitted -> accepted | rejected; queued -> failed when the channel stayed unreachable
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    message: Mapped[str | None] = mapped_column(sa.Text)
    # Our stable reference for this submission: the channel files it once, however often we retry.
    submission_id: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # An attempt ended without an answer (the channel may have it): never given up on until the channel says.
    outcome_unknown: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    # Set while a worker (RPC or timer, any replica) is talking to the channel about this filing.
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    # The approved PDF, kept only until the channel has it (the worker has no principal to fetch it again).
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    created_by: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        # At most one live filing per approved document; a rejected one may be filed again.
        sa.Index("uq_filing_live_per_approval", "approval_id", unique=True,
                 postgresql_where=sa.text("status IN ('queued', 'submitted', 'accepted')"),
                 sqlite_where=sa.text("status IN ('queued', 'submitted', 'accepted')")),
        sa.Index("uq_filing_submission_id", "submission_id", unique=True),
        sa.Index("ix_filing_queued_due", "next_attempt_at", postgresql_where=sa.text("status = 'queued'"),
                 sqlite_where=sa.text("status = 'queued'")),
    )


class ClientBranch(ClientBranchColumns, Base):
    """filing's copy of identity's client → branch mapping (chassis.client_branches)."""


class DigipoortSubmission(Base):
    """The simulator's side of the channel: what 'the KvK' received and will answer."""
    __tablename__ = "digipoort_submissions"
    reference: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # The sender's own reference: Digipoort answers a repeated delivery with the first one's reference.
    submission_id: Mapped[str | None] = mapped_column(sa.String(64))
    kvk: Mapped[str | None] = mapped_column(sa.String(8))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(12))  # accepted | rejected
    message: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[dt.datetime] = mapped_column()
    __table_args__ = (sa.Index("uq_digipoort_submission_id", "submission_id", unique=True),)
