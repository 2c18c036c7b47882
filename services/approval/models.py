"""approval's tables, in the ``approval`` schema.

The approval screen is one indexed query on these tables: ``participants`` holds,
per request, the users whose approval counts (a snapshot taken when the request
opened), with the request's client, opening time and an ``open`` flag copied in,
so a user's pending list is a range scan of a partial index on (user_id, opened_at).
Staff screens use the partial indexes on ``requests`` by firm/branch.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from chassis.client_branches import ClientBranchColumns
from chassis.db import Base as _Base
from chassis.inbox import define_inbox
from chassis.outbox import define_outbox

SCHEMA = "approval"


class Base(_Base):
    __abstract__ = True
    metadata = sa.MetaData(schema=SCHEMA)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")

PENDING = "pending"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _pending(column="status"):
    clause = sa.text(f"{column} = 'pending'")
    return {"postgresql_where": clause, "sqlite_where": clause}


class DocumentType(Base):
    """A document type a firm added to the built-in ones (documents.BUILTIN_TYPES)."""
    __tablename__ = "document_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(sa.String(50))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_by: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.UniqueConstraint("firm_id", "code"),)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column()
    branch_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[int] = mapped_column(index=True)
    document_type: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(300))
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column()
    pages: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    uploaded_by: Mapped[int | None] = mapped_column()
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=_now)


class ClientSetting(Base):
    """Per client: may the client's superusers manage the approval rights themselves?"""
    __tablename__ = "client_settings"
    client_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    firm_id: Mapped[int] = mapped_column()
    self_manage: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[int | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)


class ApprovalRight(Base):
    """An explicit right of a client user for one client and document type."""
    __tablename__ = "approval_rights"
    client_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document_type: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    firm_id: Mapped[int] = mapped_column()
    right: Mapped[str] = mapped_column(sa.String(10))  # may | must | none
    updated_by: Mapped[int | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Request(Base):
    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column()
    branch_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[int] = mapped_column()
    client_number: Mapped[str | None] = mapped_column(sa.String(50))
    client_name: Mapped[str | None] = mapped_column(sa.String(300))
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"), index=True)
    document_type: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(12), default=PENDING)  # pending|approved|declined|withdrawn
    rule: Mapped[str] = mapped_column(sa.String(10))  # all_must | any_may
    rights_snapshot: Mapped[list] = mapped_column(sa.JSON, default=list)
    rights_changed: Mapped[bool] = mapped_column(default=False)
    opened_by: Mapped[int | None] = mapped_column()
    opened_at: Mapped[dt.datetime] = mapped_column(default=_now)
    closed_by: Mapped[int | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(sa.Text)  # decline or withdraw reason
    replaces_id: Mapped[int | None] = mapped_column()
    replaced_by_id: Mapped[int | None] = mapped_column()
    evidence_count: Mapped[int] = mapped_column(default=0)
    evidence_head: Mapped[str | None] = mapped_column(sa.String(64))
    __table_args__ = (
        sa.Index("ix_requests_pending_branch", "firm_id", "branch_id", sa.text("opened_at DESC"), sa.text("id DESC"),
                 **_pending()),
        sa.Index("ix_requests_pending_firm", "firm_id", sa.text("opened_at DESC"), sa.text("id DESC"), **_pending()),
        sa.Index("ix_requests_pending_client_type", "client_id", "document_type", **_pending()),
        sa.Index("ix_requests_branch_opened", "firm_id", "branch_id", sa.text("opened_at DESC"), sa.text("id DESC")),
        sa.Index("ix_requests_client", "client_id", sa.text("opened_at DESC")),
    )


class ClientBranch(ClientBranchColumns, Base):
    """approval's copy of identity's client → branch mapping (chassis.client_branches)."""


class Participant(Base):
    """A user whose approval counts for a request (snapshot at opening), and its decision."""
    __tablename__ = "participants"
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("requests.id"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    client_id: Mapped[int] = mapped_column()
    name: Mapped[str | None] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(10))  # must | may
    confirmation: Mapped[str | None] = mapped_column(sa.String(10))  # pin | sms at opening
    decision: Mapped[str | None] = mapped_column(sa.String(10))  # approved | declined
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    method: Mapped[str | None] = mapped_column(sa.String(10))
    open: Mapped[bool] = mapped_column(default=True)
    opened_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (
        sa.Index("ix_participants_open", "user_id", sa.text("opened_at DESC"), sa.text("request_id DESC"),
                 postgresql_where=sa.text("open"), sqlite_where=sa.text("open")),
        sa.Index("ix_participants_user", "user_id", sa.text("opened_at DESC"), sa.text("request_id DESC")),
    )


class Evidence(Base):
    """Append-only evidence of a request, chained by hash (see evidence.py)."""
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("requests.id"))
    seq: Mapped[int] = mapped_column()
    occurred_at: Mapped[dt.datetime] = mapped_column()
    event: Mapped[str] = mapped_column(sa.String(20))
    actor_kind: Mapped[str | None] = mapped_column(sa.String(10))
    actor_user_id: Mapped[int | None] = mapped_column()
    actor_username: Mapped[str | None] = mapped_column(sa.String(150))
    method: Mapped[str | None] = mapped_column(sa.String(10))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(500))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    __table_args__ = (sa.UniqueConstraint("request_id", "seq"),)


class SharedDocument(Base):
    """A document the firm shares with the client users of one branch, or firm-wide (branch_id NULL)."""
    __tablename__ = "shared_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column()
    branch_id: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    posted_by: Mapped[int | None] = mapped_column()
    posted_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.Index("ix_shared_documents_firm_branch", "firm_id", "branch_id",
                               sa.text("posted_at DESC")),)
