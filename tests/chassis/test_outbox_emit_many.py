"""``emit_many``: one outbox row per item, written in one statement with the change, all published."""
import time

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcClient

from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.outbox import EventOutbox
from tests.chassis.support import SCHEMA, ConsumerService, create_schema, effects, outbox, widgets


class BatchProducerService:
    name = "producer"
    db = Database(SCHEMA)
    events = EventOutbox(outbox)

    @rpc
    def make_widgets(self, names):
        self.db.session.execute(widgets.insert(), [{"name": n} for n in names])
        return self.events.emit_many("widget_made", [{"name": n} for n in names])


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def schema(db_engine):
    create_schema(db_engine)
    return db_engine


def test_emit_many_writes_one_row_per_item_and_publishes_them(schema, container_factory, service_config):
    engine = schema
    consumer = container_factory(ConsumerService)
    consumer.start()
    producer = container_factory(BatchProducerService)
    producer.start()
    names = [f"stoel-{i}" for i in range(250)]  # more than one relay batch
    with ClusterRpcClient() as client:
        ids = client.producer.make_widgets(names)
        assert client.producer.make_widgets([]) == []
    assert len(set(ids)) == len(names)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.event_id, outbox.c.event_type, outbox.c.payload)
                            .order_by(outbox.c.id)).all()
    assert [r.event_id for r in rows] == ids
    assert {r.event_type for r in rows} == {"widget_made"}
    assert [r.payload["data"] for r in rows] == [{"name": n} for n in names]
    assert all(r.payload["event_id"] == r.event_id and r.payload["event_type"] == "widget_made" for r in rows)

    def effects_done():
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(effects)).scalar() == len(names)
    assert wait_for(effects_done)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)
                            .where(outbox.c.published_at.is_(None))).scalar() == 0
        got = sorted(conn.execute(sa.select(effects.c.widget_name)).scalars())
    assert got == sorted(names)
