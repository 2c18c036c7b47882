"""identity's tables, in the ``identity`` schema."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from chassis.db import Base as _Base
from chassis.inbox import define_inbox
from chassis.outbox import define_outbox

SCHEMA = "identity"


class Base(_Base):
    __abstract__ = True
    metadata = sa.MetaData(schema=SCHEMA)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Firm(Base):
    __tablename__ = "firms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    multi_branch: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Branch(Base):
    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # layout: used in the branch's pages and letters
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    logo_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    primary_color: Mapped[str | None] = mapped_column(sa.String(7))
    secondary_color: Mapped[str | None] = mapped_column(sa.String(7))
    letterhead: Mapped[str | None] = mapped_column(sa.Text)
    street: Mapped[str | None] = mapped_column(sa.String(200))
    house_number: Mapped[str | None] = mapped_column(sa.String(20))
    postcode: Mapped[str | None] = mapped_column(sa.String(10))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    __table_args__ = (sa.UniqueConstraint("firm_id", "name"),)


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(10))  # client | staff
    rights: Mapped[list] = mapped_column(sa.JSON, default=list)
    __table_args__ = (sa.UniqueConstraint("firm_id", "kind", "name"),)


class User(Base):
    """A staff user or a client user; usernames are unique on the platform (login is by username)."""
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # staff | client
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"))  # staff: None = firm-wide
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"))
    rights: Mapped[list] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    confirmation_method: Mapped[str] = mapped_column(sa.String(10), default="pin")  # pin | sms
    login_method: Mapped[str] = mapped_column(sa.String(20), default="password")  # password | password_sms
    pin_hash: Mapped[str | None] = mapped_column(sa.String(200))
    pin_failures: Mapped[int] = mapped_column(default=0)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    pin_issued_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    # login matches usernames without case: "Jan" and "jan" are one name, also for two inserts at once
    __table_args__ = (sa.Index("ux_users_username_lower", sa.func.lower(username), unique=True),)


class Session(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class Client(Base):
    """A company or person the firm serves; ``number`` identifies it on every re-import."""
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firms.id"))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(50))
    name: Mapped[str] = mapped_column(sa.String(200))
    legal_form: Mapped[str | None] = mapped_column(sa.String(100))
    kvk: Mapped[str | None] = mapped_column(sa.String(8))
    bsn_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    rsin: Mapped[str | None] = mapped_column(sa.String(9))
    vat: Mapped[str | None] = mapped_column(sa.String(20))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    house_number: Mapped[str | None] = mapped_column(sa.String(20))
    postcode: Mapped[str | None] = mapped_column(sa.String(10))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    country: Mapped[str | None] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    # the client group whose rights the users later created for this client receive
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"))
    import_id: Mapped[int | None] = mapped_column()
    # folded "name number kvk" for the search box (trigram index on PostgreSQL)
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.UniqueConstraint("firm_id", "number"),
                      sa.Index("ix_clients_firm_name", "firm_id", "name", "id"))


class ClientUserLink(Base):
    """A client user's access to one client; ``superuser`` per link."""
    __tablename__ = "client_user_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    superuser: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    __table_args__ = (sa.UniqueConstraint("user_id", "client_id"),)


class ActivationCode(Base):
    """A one-time code that lets a new user choose its password (stored as a keyed hash)."""
    __tablename__ = "activation_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class SmsChallenge(Base):
    """An SMS code: for a login, an approval (bound to request + document hash) or a new mobile."""
    __tablename__ = "sms_challenges"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))  # login | confirm | mobile
    binding: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    failures: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class LoginThrottle(Base):
    """Failed logins per lowercased username, whether or not such a user exists."""
    __tablename__ = "login_throttle"
    username_key: Mapped[str] = mapped_column(sa.String(150), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
