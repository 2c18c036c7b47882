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
    # submitted -> accepted | rejected; failed when the channel could not take it
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    message: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        # At most one live filing per approved document; a rejected one may be filed again.
        sa.Index("uq_filing_live_per_approval", "approval_id", unique=True,
                 postgresql_where=sa.text("status IN ('submitted', 'accepted')"),
                 sqlite_where=sa.text("status IN ('submitted', 'accepted')")),
    )


class ClientBranch(ClientBranchColumns, Base):
    """filing's copy of identity's client → branch mapping (chassis.client_branches)."""


class DigipoortSubmission(Base):
    """The simulator's side of the channel: what 'the KvK' received and will answer."""
    __tablename__ = "digipoort_submissions"
    reference: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kvk: Mapped[str | None] = mapped_column(sa.String(8))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(12))  # accepted | rejected
    message: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[dt.datetime] = mapped_column()
