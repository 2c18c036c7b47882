"""notify's tables, in the ``notify`` schema.

Message bodies may carry secrets (SMS login codes, approval codes, activation
codes), so they are stored encrypted (chassis.crypto) and only for as long as
they are needed to deliver; the developer outbox page decrypts them for demos.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from chassis.db import Base as _Base
from chassis.inbox import define_inbox
from chassis.outbox import define_outbox

SCHEMA = "notify"

# Lifecycle of a message. "sending" is internal (an attempt is in flight). "held" (e-mail): waiting unsent
# for identity to confirm the change that issued its secret.
STATUSES = ("held", "queued", "sending", "sent", "delivered", "failed", "undelivered")
FINAL_STATUSES = ("delivered", "failed", "undelivered")


class Base(_Base):
    __abstract__ = True
    metadata = sa.MetaData(schema=SCHEMA)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(40))
    to_number: Mapped[str] = mapped_column(sa.String(40))
    sender: Mapped[str | None] = mapped_column(sa.String(40))
    body_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    length: Mapped[int] = mapped_column(default=0)
    backend: Mapped[str] = mapped_column(sa.String(10))  # outbox | twilio
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    provider_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    error_message: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.Index("ix_sms_number_time", "to_number", "created_at"),
                      sa.Index("ix_sms_firm_time", "firm_id", "created_at"))


class EmailMessage(Base):
    __tablename__ = "email_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int | None] = mapped_column(index=True)
    branch_id: Mapped[int | None] = mapped_column()
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    sender_name: Mapped[str | None] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    html_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    backend: Mapped[str] = mapped_column(sa.String(10))  # outbox | smtp
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)


class SmsSettings(Base):
    __tablename__ = "sms_settings"
    firm_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    sender: Mapped[str | None] = mapped_column(sa.String(11))
    daily_cap: Mapped[int] = mapped_column(default=500)
    approval_sms: Mapped[bool] = mapped_column(default=False)  # SMS to approvers when a request opens
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_by: Mapped[int | None] = mapped_column()


class News(Base):
    __tablename__ = "news"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column()
    branch_id: Mapped[int | None] = mapped_column()  # None = firm-wide
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    author_user_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.Index("ix_news_firm_time", "firm_id", "created_at"),)


class ClientBranch(Base):
    """Local copy of identity's client → branch mapping, kept from its client events."""
    __tablename__ = "client_branches"
    client_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    firm_id: Mapped[int] = mapped_column(index=True)
    branch_id: Mapped[int | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)


class NotificationJob(Base):
    """An approval event to turn into messages. The event handler only records it (no RPC inside
    the handler's transaction); the delivery pass asks identity for the recipients and records the
    messages. identity being away delays notifications instead of losing them."""
    __tablename__ = "notification_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36))
    kind: Mapped[str] = mapped_column(sa.String(30))  # request_opened | request_approved | request_declined
    data: Mapped[dict] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # pending | working | done | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.UniqueConstraint("event_id", "kind"),)
