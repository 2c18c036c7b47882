"""Transactional outbox + idempotent consumer: a crash between commit and publish loses
nothing, and an event delivered twice has its effect once."""
import time

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcClient

from chassis.outbox import EventOutbox
from tests.chassis.support import ConsumerService, ProducerService, create_schema, effects, inbox, outbox, widgets


@pytest.fixture
def schema(db_engine):
    create_schema(db_engine)
    return db_engine


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def test_event_survives_crash_between_commit_and_publish(schema, container_factory, service_config, monkeypatch):
    engine = schema
    consumer = container_factory(ConsumerService)
    consumer.start()

    # The publishing side commits, then dies before its relay publishes anything.
    monkeypatch.setattr(EventOutbox, "publish_pending", lambda self: 0)
    producer = container_factory(ProducerService)
    producer.start()
    with ClusterRpcClient() as rpc:
        assert rpc.producer.make_widget("tafel") == "tafel"
    producer.kill()  # the crash
    assert count(engine, widgets) == 1
    assert count(engine, outbox, outbox.c.published_at.is_(None)) == 1
    time.sleep(0.5)
    assert count(engine, effects) == 0

    # Restart the publishing side with a working relay: the pending event goes out.
    monkeypatch.undo()
    restarted = container_factory(ProducerService)
    restarted.start()
    assert wait_for(lambda: count(engine, effects) == 1)
    assert wait_for(lambda: count(engine, outbox, outbox.c.published_at.is_(None)) == 0)
    time.sleep(0.5)
    assert count(engine, effects) == 1


def test_same_event_twice_has_one_effect(schema, container_factory, service_config):
    engine = schema
    consumer = container_factory(ConsumerService)
    consumer.start()
    producer = container_factory(ProducerService)
    producer.start()
    with ClusterRpcClient() as rpc:
        rpc.producer.make_widget("stoel")
    assert wait_for(lambda: count(engine, effects) == 1)

    with engine.connect() as conn:
        envelope = conn.execute(sa.select(outbox.c.payload)).scalar_one()
    dispatch = event_dispatcher()
    dispatch("producer", "widget_made", envelope)  # a redelivery / second publish
    dispatch("producer", "widget_made", envelope)
    assert wait_for(lambda: count(engine, inbox) == 1)
    time.sleep(0.5)
    assert count(engine, effects) == 1


def test_rolled_back_change_publishes_nothing(schema, container_factory, service_config):
    engine = schema
    producer = container_factory(ProducerService)
    producer.start()
    with ClusterRpcClient() as rpc:
        with pytest.raises(Exception):
            rpc.producer.make_widget("x" * 80)  # too long for the column: the transaction fails
    assert count(engine, widgets) == 0
    assert count(engine, outbox) == 0
