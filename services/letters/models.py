"""letters' tables, in the ``letters`` schema.

Nothing here holds a secret in clear: the letters of a batch (with their PINs or
activation codes) are kept encrypted (chassis.crypto) only until the batch is
rendered, and the rendered PDF is stored as encrypted chunks.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from chassis.db import Base as _Base
from chassis.inbox import define_inbox
from chassis.outbox import define_outbox

SCHEMA = "letters"


class Base(_Base):
    __abstract__ = True
    metadata = sa.MetaData(schema=SCHEMA)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Batch(Base):
    """A batch of letters printed as one PDF, one letter per page, in postcode order."""
    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(index=True)
    branch_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(20))  # pin | activation
    # [held ->] queued -> rendering -> done | failed; done -> purged; held -> discarded (never confirmed)
    status: Mapped[str] = mapped_column(sa.String(20), default="queued", index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    printed_at: Mapped[dt.datetime | None] = mapped_column()
    printed_by: Mapped[int | None] = mapped_column()
    purged_at: Mapped[dt.datetime | None] = mapped_column()
    # the renderer holding the batch, and until when (a dead renderer's batch is taken over)
    lease_token: Mapped[str | None] = mapped_column(sa.String(36))
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # portal_url etc. (no secrets)
    pdf_chunks: Mapped[int] = mapped_column(default=0)
    pdf_size: Mapped[int] = mapped_column(default=0)


class BatchLetter(Base):
    """One letter of a batch: its place in mailing order and in the PDF (no content, no secret)."""
    __tablename__ = "batch_letters"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()  # index in the request
    position: Mapped[int] = mapped_column()  # 1-based place in mailing (postcode) order
    first_page: Mapped[int] = mapped_column()
    last_page: Mapped[int] = mapped_column()
    __table_args__ = (sa.UniqueConstraint("batch_id", "position"), sa.Index("ix_batch_letters_batch_seq", "batch_id", "seq"))


class LetterBlock(Base):
    """The letters themselves (with their secrets), until rendered: encrypted in blocks of
    consecutive letters in mailing order, deleted once the PDF is complete."""
    __tablename__ = "letter_blocks"
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    block: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


class PdfChunk(Base):
    """The rendered PDF, in encrypted chunks (so neither rendering nor storing holds it whole)."""
    __tablename__ = "pdf_chunks"
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
