"""The relay publishes a batch of events and waits for the broker's confirms once per batch, and marks rows
published only when every one was acked: a refused batch stays pending and goes out on the next try."""
import amqp.channel
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcClient

from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.outbox import RELAY_BATCH, EventOutbox, NotConfirmed
from tests.chassis.support import SCHEMA, create_schema, outbox, widgets


class QuietProducerService:
    """Writes events but relays nothing by itself: the test drives ``publish_pending``."""
    name = "producer"
    db = Database(SCHEMA)
    events = EventOutbox(outbox, relay=False)

    @rpc
    def make_widgets(self, names):
        self.db.session.execute(widgets.insert(), [{"name": n} for n in names])
        return self.events.emit_many("widget_made", [{"name": n} for n in names])


@pytest.fixture
def relay(db_engine, container_factory, service_config):
    create_schema(db_engine)
    container = container_factory(QuietProducerService)
    container.start()
    provider = next(ext for ext in container.extensions if isinstance(ext, EventOutbox))
    return provider


def pending(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


def make(count: int):
    with ClusterRpcClient() as client:
        client.producer.make_widgets([f"kast-{i}" for i in range(count)])


def test_one_confirm_wait_per_batch_not_per_event_on_one_kept_channel(relay, db_engine, monkeypatch):
    make(RELAY_BATCH + 50)
    calls = {"confirm_select": 0, "per_message_confirm": 0}
    confirm_select = amqp.channel.Channel.confirm_select
    per_message = amqp.channel.Channel.basic_publish_confirm

    def counting_select(self, *args, **kwargs):
        calls["confirm_select"] += 1
        return confirm_select(self, *args, **kwargs)

    def counting_per_message(self, *args, **kwargs):
        calls["per_message_confirm"] += 1
        return per_message(self, *args, **kwargs)

    monkeypatch.setattr(amqp.channel.Channel, "confirm_select", counting_select)
    monkeypatch.setattr(amqp.channel.Channel, "basic_publish_confirm", counting_per_message)
    assert relay.publish_pending() == RELAY_BATCH
    assert relay.publish_pending() == 50
    assert relay.publish_pending() == 0
    assert pending(db_engine) == 0
    # no per-message confirm; and the confirm-mode channel is opened once and kept for the next batches
    assert calls == {"confirm_select": 1, "per_message_confirm": 0}


def test_nacked_batch_stays_pending_and_goes_out_next_time(relay, db_engine, monkeypatch):
    make(30)

    def broker_refuses(self, delivery_tag, multiple):
        self._on_basic_nack(delivery_tag, multiple)

    monkeypatch.setattr(amqp.channel.Channel, "_on_basic_ack", broker_refuses)
    with pytest.raises(NotConfirmed):
        relay.publish_pending()
    assert pending(db_engine) == 30  # not one row marked: the batch is retried whole (at-least-once)

    monkeypatch.undo()
    assert relay.publish_pending() == 30
    assert pending(db_engine) == 0


def test_broker_outage_leaves_rows_pending(relay, db_engine, monkeypatch):
    make(10)
    relay._drop_connection()
    monkeypatch.setattr("chassis.outbox.config", {"AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1/"})
    with pytest.raises(Exception):
        relay.publish_pending()
    assert pending(db_engine) == 10

    monkeypatch.undo()
    assert relay.publish_pending() == 10
    assert pending(db_engine) == 0


def test_a_batch_goes_to_the_broker_in_one_socket_write(relay, db_engine):
    make(120)
    relay.publish_pending()  # opens the relay's connection and channel
    make(120)
    transport = relay._connection.connection.transport
    real, writes = transport._write, []

    def counting(data):
        writes.append(len(data))
        return real(data)

    transport._write = counting
    try:
        assert relay.publish_pending() == 120
    finally:
        transport._write = real
    assert pending(db_engine) == 0  # all acked by the broker, so the one write carried them all
    assert len(writes) == 1 and writes[0] > 120 * 100
