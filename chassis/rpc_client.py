"""RPC to another service with a deadline.

nameko's ServiceRpc waits forever when the target's queue exists but no
replica consumes it (a stopped service). ``ServiceRpc(..., timeout=...)`` from
here gives up after the deadline with ``Unavailable`` (503 at the gateway), and
the request message expires in the queue at the same moment so a late-starting
service does not act on a request whose caller already got an error.
"""
import os

import eventlet
from nameko.constants import NON_PERSISTENT
from nameko.rpc import ReplyListener, get_rpc_exchange
from nameko.rpc import ServiceRpc as _ServiceRpc

from chassis.errors import Unavailable

DEFAULT_TIMEOUT = float(os.environ.get("AKKOORD_RPC_TIMEOUT", "30"))


class _Deadline:
    def __init__(self, client, timeout, service_name):
        self._client = client
        self._timeout = timeout
        self._service_name = service_name

    def __getattr__(self, name):
        method = getattr(self._client, name)
        timeout, service_name = self._timeout, self._service_name

        def call(*args, **kwargs):
            try:
                with eventlet.Timeout(timeout):
                    return method(*args, **kwargs)
            except eventlet.Timeout:
                raise Unavailable(f"De dienst '{service_name}' antwoordt niet; probeer het later opnieuw.",
                                  {"service": service_name}) from None

        call.call_async = method.call_async
        return call


class AutoAckReplyListener(ReplyListener):
    """Replies consumed with no_ack: the broker counts a reply delivered when it sends it.

    nameko acks every reply before handing it to the caller: one more write to the broker (and a
    wake-up of it) on the path of every RPC. A reply queue has a single consumer, its own caller;
    a reply lost with that process has nobody left to read it, so the ack protects nothing."""

    class ReplyConsumer(ReplyListener.ReplyConsumer):
        def get_consumers(self, consumer_cls, channel):
            consumers = super().get_consumers(consumer_cls, channel)
            for consumer in consumers:
                consumer.no_ack = True  # read by kombu when it starts consuming (basic_consume)
            return consumers

        def ack_message(self, message):
            pass  # already acknowledged by the broker on delivery

    consumer_cls = ReplyConsumer


class ServiceRpc(_ServiceRpc):
    reply_listener = AutoAckReplyListener()

    def __init__(self, target_service, timeout: float | None = None, **kwargs):
        self.deadline = timeout or DEFAULT_TIMEOUT
        kwargs.setdefault("expiration", self.deadline)
        # Transient: a request outliving a broker restart would find its caller gone. Confirms stay on:
        # with `mandatory` they are how a call to a service that was never deployed fails at once.
        kwargs.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **kwargs)

    def setup(self):
        super().setup()
        # nameko re-declares the reply queue (exchange, queue, binding: three broker round trips)
        # before EVERY request, because a queue with x-expires is never cached by kombu. The reply
        # listener declares that queue whenever it (re)connects, and it only expires after minutes
        # without a consumer; a request sent in that window times out into Unavailable. Declaring
        # the exchange once per connection (cached) is enough; bench rpc shows the difference.
        self.publisher.declare = [get_rpc_exchange()]

    def get_dependency(self, worker_ctx):
        return _Deadline(super().get_dependency(worker_ctx), self.deadline, self.target_service)
