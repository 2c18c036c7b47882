"""RPC entrypoint whose consumer drains in-flight requests before it closes its connection.

nameko 3's RPC consumer, on ``stop()`` (SIGTERM, rolling upgrade), leaves its consume loop
and closes the AMQP connection at once, while workers are still running. The broker then
requeues the requests those workers are handling, another replica runs them AGAIN, and the
caller gets whichever reply comes first: a non-idempotent RPC (``create_firm``) takes effect
twice, the caller may see the second run's error. Found by tests/deploy/test_scale.py.

Here ``stop()`` first cancels the consumer (no new deliveries; ones already on the wire are
requeued untouched), then waits until every request being handled is acknowledged, and only
then lets the loop end and the connection close. Replies and acks of in-flight work therefore
happen exactly once; the container's own stop then waits for the workers as usual.
"""
import logging
import os

import eventlet
from eventlet.event import Event
from nameko.amqp.consume import Consumer
from nameko.rpc import Rpc, RpcConsumer

log = logging.getLogger(__name__)

DRAIN_SECONDS = float(os.environ.get("AKKOORD_STOP_GRACE", "50"))


class DrainingConsumer(Consumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.draining = False
        self.in_flight: set = set()
        self.drained = Event()
        self._kombu_consumers = []

    def get_consumers(self, consumer_cls, channel):
        self._kombu_consumers = super().get_consumers(consumer_cls, channel)
        return self._kombu_consumers

    def on_message(self, body, message):
        if self.draining or self.should_stop:
            self.requeue_message(message)
            return
        self.in_flight.add(id(message))
        super().on_message(body, message)

    def _settled(self, message):
        self.in_flight.discard(id(message))
        if self.draining and not self.in_flight and not self.drained.ready():
            self.drained.send(True)

    def ack_message(self, message):
        super().ack_message(message)
        self._settled(message)

    def requeue_message(self, message):
        super().requeue_message(message)
        self._settled(message)

    def stop(self):
        if not self.draining:
            self.draining = True
            for consumer in self._kombu_consumers:
                try:
                    consumer.cancel()
                except Exception:  # connection already gone: the broker requeues for us
                    log.debug("consumer cancel failed", exc_info=True)
            if not self.in_flight:
                self.drained.send(True)
        with eventlet.Timeout(DRAIN_SECONDS, False):
            self.drained.wait()
        if self.in_flight:
            log.warning("stopping with requests still in flight", extra={"in_flight": len(self.in_flight)})
        self.should_stop = True


class DrainingRpcConsumer(RpcConsumer):
    consumer_cls = DrainingConsumer


class DrainingRpc(Rpc):
    rpc_consumer = DrainingRpcConsumer()


rpc = DrainingRpc.decorator
