"""Transactional outbox: events written with the change, published after commit.

``emit()`` inserts the event into the service's own ``outbox`` table inside the
worker's transaction, so an event exists exactly when its change is committed.
A relay greenthread publishes pending rows to the nameko event exchange
``<service>.events`` with publisher confirms, then marks them published: a batch is
sent on the relay's one channel in confirm mode (kept open between batches) and the
broker's acks are awaited once for the whole batch (one round trip, not one per
event); rows are marked only when every
message of the batch is acked, so a nack, timeout or broken connection leaves the
whole batch pending for the next try. If the
process dies between commit and publish the row stays pending and the next
relay (this process after restart, or another replica) publishes it. Delivery
is therefore at-least-once; consumers use chassis.inbox to make it harmless.
"""
import datetime as dt
import logging
import time
import uuid
from contextlib import contextmanager

import eventlet
import sqlalchemy as sa
from eventlet.event import Event
from kombu import Connection, Producer
from kombu.common import maybe_declare
from nameko import config
from nameko.constants import AMQP_SSL_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY, PERSISTENT
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange

from chassis.db import get_engine, insert_many, is_postgres

log = logging.getLogger(__name__)

RELAY_BATCH = 200
RELAY_IDLE_SECONDS = 1.0
CONFIRM_TIMEOUT_SECONDS = 30.0


class NotConfirmed(Exception):
    """The broker nacked a message of the batch, or did not confirm it in time."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def define_outbox(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=True),
        sa.Index("ix_outbox_pending", "id", postgresql_where=sa.text("published_at IS NULL")),
    )


class OutboxHandle:
    def __init__(self, provider: "EventOutbox", worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def emit(self, event_type: str, data: dict) -> str:
        """Record an event in the current transaction; it is published after commit."""
        db = getattr(self._worker_ctx.service, self._provider.db_attr)
        return self._provider.write(db.session, event_type, data, after_commit=db.after_commit)

    def emit_many(self, event_type: str, items: list[dict]) -> list[str]:
        """Record one event per item in the current transaction (one INSERT executemany); published after commit."""
        db = getattr(self._worker_ctx.service, self._provider.db_attr)
        return self._provider.write_many(db.session, event_type, items, after_commit=db.after_commit)


@contextmanager
def _one_write(connection):
    """py-amqp sends every message with a socket write of its own (a fifth of the relay's CPU in an
    import); a batch's messages are collected and sent in one write instead. If publishing fails
    halfway, nothing is sent and the caller drops the connection."""
    transport = connection.connection.transport
    send, parts = transport._write, []
    transport._write = lambda data: parts.append(bytes(data))  # amqp reuses its buffer: copy
    try:
        yield
    finally:
        transport._write = send
    send(b"".join(parts))


class _ConfirmChannel:
    """A channel in confirm mode and what the broker has told about it: which delivery tags are not
    acked yet, and whether any was nacked (then the connection is dropped, and this with it)."""

    def __init__(self, channel, exchange):
        self.next_tag = 1
        self.unconfirmed: set[int] = set()
        self.nacked: list[int] = []
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.confirm_select()
        # Declared once here, and remembered as declared: a publish that declared it itself would wait
        # for the broker's answer in the middle of a batch whose writes are held back (_one_write).
        maybe_declare(exchange, channel)
        self.producer = Producer(channel, exchange=exchange, serializer="json", auto_declare=False)

    def _on_ack(self, tag, multiple):
        if multiple:
            self.unconfirmed.difference_update([t for t in self.unconfirmed if t <= tag])
        else:
            self.unconfirmed.discard(tag)

    def _on_nack(self, tag, multiple):
        self.nacked.append(tag)


class EventOutbox(DependencyProvider):
    """``events = EventOutbox(table)``; ``self.events.emit("client_created", {...})``."""

    def __init__(self, table: sa.Table, db_attr: str = "db", relay: bool = True):
        self.table = table
        self.db_attr = db_attr
        self.relay_enabled = relay
        self._wakeup = Event()
        self._thread = None
        self._running = False
        self._connection = None
        self._confirms = None

    # -- writing ---------------------------------------------------------
    def write(self, session, event_type: str, data: dict, after_commit=None) -> str:
        event_id = str(uuid.uuid4())
        payload = {"event_id": event_id, "event_type": event_type,
                   "occurred_at": utcnow().isoformat() + "Z", "data": data}
        session.execute(self.table.insert().values(
            event_id=event_id, event_type=event_type, payload=payload, created_at=utcnow()))
        if after_commit is not None:
            after_commit.append(self.wake)
        return event_id

    def write_many(self, session, event_type: str, items: list[dict], after_commit=None) -> list[str]:
        items = list(items)
        if not items:
            return []
        occurred = utcnow().isoformat() + "Z"
        created = utcnow()
        rows, ids = [], []
        for data in items:
            event_id = str(uuid.uuid4())
            ids.append(event_id)
            rows.append({"event_id": event_id, "event_type": event_type, "created_at": created,
                         "payload": {"event_id": event_id, "event_type": event_type,
                                     "occurred_at": occurred, "data": data}})
        insert_many(session, self.table, rows)
        if after_commit is not None:
            after_commit.append(self.wake)
        return ids

    def get_dependency(self, worker_ctx):
        return OutboxHandle(self, worker_ctx)

    # -- relaying --------------------------------------------------------
    def setup(self):
        self.service_name = self.container.service_name
        self.engine = get_engine(config["DATABASE_URL"])
        self.exchange = get_event_exchange(self.service_name)

    def start(self):
        if self.relay_enabled:
            self._running = True
            self._thread = self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self.wake()
        if self._thread is not None:
            self._thread.wait()
        self._drop_connection()

    def kill(self):
        self._running = False
        if self._thread is not None:
            self._thread.kill()
        self._drop_connection()

    def wake(self):
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _relay_loop(self):
        while self._running:
            with eventlet.Timeout(RELAY_IDLE_SECONDS, False):
                self._wakeup.wait()
            if self._wakeup.ready():
                self._wakeup.reset()
            try:
                while self._running and self.publish_pending() == RELAY_BATCH:
                    pass
            except Exception:  # broker or database away: try again next tick
                log.warning("outbox relay could not publish", exc_info=True)
                eventlet.sleep(RELAY_IDLE_SECONDS)

    def publish_pending(self) -> int:
        """Publish one batch of pending events; returns how many were published."""
        table = self.table
        query = sa.select(table.c.id, table.c.event_type, table.c.payload).where(
            table.c.published_at.is_(None)).order_by(table.c.id).limit(RELAY_BATCH)
        if is_postgres(self.engine):
            # Replicas relay side by side without publishing the same rows at once.
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            if rows:
                self.publish_confirmed([(row.payload, row.event_type) for row in rows])
                conn.execute(table.update().where(table.c.id.in_([r.id for r in rows]))
                             .values(published_at=utcnow()))
        return len(rows)

    # -- the broker side ---------------------------------------------------
    def publish_confirmed(self, messages: list[tuple[dict, str]]) -> None:
        """Publish (payload, routing key) pairs persistently and return once the broker acked them all;
        raise otherwise (then none of them counts as published)."""
        try:
            self._publish_and_wait(messages)
        except Exception:
            self._drop_connection()  # start the next try on a fresh connection
            raise

    def _publish_and_wait(self, messages):
        confirms = self._confirm_channel()
        first = confirms.next_tag
        confirms.next_tag += len(messages)
        tags = range(first, confirms.next_tag)  # a confirm-mode channel numbers its publishes from 1
        confirms.unconfirmed.update(tags)
        with _one_write(self._connection):
            for payload, routing_key in messages:
                confirms.producer.publish(payload, routing_key=routing_key, delivery_mode=PERSISTENT, retry=False)
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
        while not confirms.unconfirmed.isdisjoint(tags) and not confirms.nacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                missing = len([t for t in tags if t in confirms.unconfirmed])
                raise NotConfirmed(f"{missing} of {len(messages)} events not confirmed in time")
            self._connection.drain_events(timeout=remaining)
        if confirms.nacked:
            raise NotConfirmed(f"the broker refused {len(confirms.nacked)} of {len(messages)} events")

    def _confirm_channel(self) -> "_ConfirmChannel":
        """The relay's connection and its one confirm-mode channel, opened once and kept: a channel and an
        exchange declaration per batch cost four broker round trips, more than a small batch itself."""
        if self._connection is None:
            # confirm_publish off: amqp would otherwise wait for an ack after every single message
            self._connection = Connection(config["AMQP_URI"], ssl=config.get(AMQP_SSL_CONFIG_KEY),
                                          login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
                                          transport_options={"confirm_publish": False})
            self._confirms = _ConfirmChannel(self._connection.channel(), self.exchange)
        return self._confirms

    def _drop_connection(self):
        connection, self._connection, self._confirms = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                pass
