"""A replica that stops (SIGTERM, rolling upgrade) finishes its in-flight RPCs and does not let
the broker hand them to another replica as well (chassis/graceful.py)."""
import collections

import eventlet
from nameko.rpc import rpc as plain_nameko_rpc
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcClient

from chassis.entrypoints import rpc
from chassis.rpc_client import ServiceRpc
from chassis.runner import stop_callers_first

executions = collections.Counter()


class SlowService:
    name = "deploy_slow"

    @rpc
    def work(self, key, seconds):
        executions[key] += 1
        eventlet.sleep(seconds)
        return key


class SlowServiceB(SlowService):
    """The same service (same queue) in a second container: another replica."""


class PlainSlowService:
    name = "deploy_slow"

    @plain_nameko_rpc
    def work(self, key, seconds):
        executions[key] += 1
        eventlet.sleep(seconds)
        return key


class PlainSlowServiceB(PlainSlowService):
    pass


def stop_one_replica_mid_stream(container_factory, amqp_uri, first_cls, second_cls, seconds):
    executions.clear()
    first = container_factory(first_cls)
    first.start()
    with ClusterRpcClient(uri=amqp_uri) as client:
        replies = [client.deploy_slow.work.call_async(f"call-{i}", seconds) for i in range(5)]
        eventlet.sleep(0.3)  # all five are running in the first replica now
        assert sum(executions.values()) == 5
        second = container_factory(second_cls)
        second.start()
        stopping = eventlet.spawn(first.stop)  # SIGTERM: the runner calls stop()
        eventlet.sleep(0.2)
        later = [client.deploy_slow.work.call_async(f"later-{i}", 0.0) for i in range(5)]
        results = [reply.result() for reply in replies + later]
        stopping.wait()
    assert results == [f"call-{i}" for i in range(5)] + [f"later-{i}" for i in range(5)]
    return dict(executions)


def test_stopping_replica_finishes_in_flight_rpcs_and_none_runs_twice(container_factory, service_config):
    counts = stop_one_replica_mid_stream(container_factory, service_config["AMQP_URI"],
                                         SlowService, SlowServiceB, 1.0)
    # each request ran once: in-flight ones in the stopping replica, new ones in the other
    assert counts == {**{f"call-{i}": 1 for i in range(5)}, **{f"later-{i}": 1 for i in range(5)}}


def test_why_plain_nameko_rpc_is_not_enough(container_factory, service_config):
    """nameko's own consumer closes its connection on stop while workers still run: the broker
    requeues their requests and the other replica runs them a second time."""
    counts = stop_one_replica_mid_stream(container_factory, service_config["AMQP_URI"],
                                         PlainSlowService, PlainSlowServiceB, 3.0)
    assert max(counts.values()) == 2, counts


# -- events: a stopping consumer replica, redelivery, and the idempotent inbox ------------------

import uuid  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from nameko.standalone.events import event_dispatcher  # noqa: E402

from chassis.db import Database  # noqa: E402
from chassis.inbox import define_inbox, idempotent_handler  # noqa: E402

EVENT_SCHEMA = "deploy_graceful_test"
event_metadata = sa.MetaData(schema=EVENT_SCHEMA)
event_inbox = define_inbox(event_metadata)
event_effects = sa.Table("effects", event_metadata, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("key", sa.String(50), nullable=False))
handler_runs = collections.Counter()


class SlowConsumer:
    name = "deploy_slow_consumer"
    db = Database(EVENT_SCHEMA)

    @idempotent_handler(event_inbox, "deploy_source", "thing_happened")
    def on_thing(self, data, envelope):
        handler_runs[data["key"]] += 1
        self.db.session.execute(event_effects.insert().values(key=data["key"]))
        self.db.session.flush()
        eventlet.sleep(data["seconds"])


class SlowConsumerB(SlowConsumer):
    pass


def test_stopping_consumer_replica_loses_no_event_and_the_inbox_keeps_effects_single(
        container_factory, service_config, db_engine):
    with db_engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {EVENT_SCHEMA}"))
    event_metadata.drop_all(db_engine)
    event_metadata.create_all(db_engine)
    handler_runs.clear()
    first = container_factory(SlowConsumer)
    first.start()
    dispatch = event_dispatcher(uri=service_config["AMQP_URI"])

    def publish(key, seconds):
        dispatch("deploy_source", "thing_happened", {
            "event_id": str(uuid.uuid4()), "event_type": "thing_happened", "occurred_at": "2026-01-01T00:00:00Z",
            "data": {"key": key, "seconds": seconds}})

    for i in range(5):
        publish(f"slow-{i}", 2.0)
    eventlet.sleep(0.5)
    assert sum(handler_runs.values()) == 5  # all in flight in the first replica
    second = container_factory(SlowConsumerB)
    second.start()
    stopping = eventlet.spawn(first.stop)
    for i in range(5):
        publish(f"fast-{i}", 0.0)
    stopping.wait()

    expected = sorted([f"slow-{i}" for i in range(5)] + [f"fast-{i}" for i in range(5)])
    deadline = eventlet.Timeout(30)
    try:
        while True:
            with db_engine.connect() as conn:
                keys = sorted(conn.execute(sa.select(event_effects.c.key)).scalars())
                handled = conn.execute(sa.select(sa.func.count()).select_from(event_inbox)).scalar()
            if len(set(keys)) == len(expected) and handled == len(expected):
                break
            eventlet.sleep(0.2)
    finally:
        deadline.cancel()
    eventlet.sleep(1.0)  # a late duplicate would land now
    with db_engine.connect() as conn:
        keys = sorted(conn.execute(sa.select(event_effects.c.key)).scalars())
    assert keys == expected  # every event's effect exactly once


class CalledService:
    name = "identity"  # stands for any service others call

    @rpc
    def answer(self):
        return "antwoord"


class CallerService:
    name = "importer"  # a caller: an import commit sends its batches to identity
    identity = ServiceRpc("identity", timeout=5)

    @rpc
    def work_then_call(self, seconds):
        eventlet.sleep(seconds)
        return self.identity.answer()


def test_a_process_stops_callers_first_so_their_in_flight_calls_are_answered(service_config):
    """Several services in one process (make demo, the tests): stopping them all at once stopped
    identity's consumer while the importer's worker was about to call it, and that worker waited out
    its deadline (an import batch: 300 s) for an answer nobody would give."""
    runner = ServiceRunner()
    runner.add_service(CalledService)
    runner.add_service(CallerService)
    runner.start()
    try:
        with ClusterRpcClient(uri=service_config["AMQP_URI"]) as client:
            reply = client.importer.work_then_call.call_async(1.0)
            eventlet.sleep(0.3)  # the worker is running; SIGTERM now
            stopping = eventlet.spawn(stop_callers_first, runner)
            assert reply.result() == "antwoord"  # plain runner.stop(): Unavailable after 5 s
            stopping.wait()
    finally:
        runner.kill()
