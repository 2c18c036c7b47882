"""A replica that stops (SIGTERM, rolling upgrade) finishes its in-flight RPCs and does not let
the broker hand them to another replica as well (chassis/graceful.py)."""
import collections

import eventlet
from nameko.rpc import rpc as plain_nameko_rpc
from nameko.standalone.rpc import ClusterRpcClient

from chassis.entrypoints import rpc

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
