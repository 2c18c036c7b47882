"""chassis.rpc_client.ServiceRpc: no broker round trips to re-declare the reply queue per request,
and a deadline that turns a stopped service into Unavailable."""
import kombu
import pytest
from nameko.testing.services import entrypoint_hook

from chassis.entrypoints import rpc
from chassis.errors import Unavailable
from chassis.rpc_client import ServiceRpc


class EchoService:
    name = "rpcclient_echo"

    @rpc
    def echo(self, value):
        return value


class CallerService:
    name = "rpcclient_caller"
    echo_service = ServiceRpc("rpcclient_echo", timeout=2)

    @rpc
    def call_many(self, n):
        return [self.echo_service.echo(i) for i in range(n)]


def _record_calls(monkeypatch, owner, name, note):
    """Let ``owner.name`` run as before, after ``note(self, *args, **kwargs)`` has seen the call."""
    original = getattr(owner, name)

    def recording(self, *args, **kwargs):
        note(self, *args, **kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, recording)


def _echo_and_caller(container_factory):
    """The echo service and its caller, started; the caller's container."""
    for service in (EchoService, CallerService):
        container = container_factory(service)
        container.start()
    return container


@pytest.fixture
def queue_declares(monkeypatch):
    declared = []
    original = kombu.Queue.declare

    def counting(self, *args, **kwargs):
        declared.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(kombu.Queue, "declare", counting)
    return declared


def test_requests_do_not_redeclare_the_reply_queue(container_factory, queue_declares):
    echo = container_factory(EchoService)
    echo.start()
    caller = container_factory(CallerService)
    caller.start()
    with entrypoint_hook(caller, "call_many") as call_many:
        assert call_many(2) == [0, 1]  # warm: the reply listener has declared its queue
        before = [name for name in queue_declares if name.startswith("rpc.reply-rpcclient_caller")]
        assert call_many(25) == list(range(25))
    after = [name for name in queue_declares if name.startswith("rpc.reply-rpcclient_caller")]
    assert after == before  # nameko alone declares it again before every one of the 25 requests


def test_a_stopped_service_gives_unavailable_after_the_deadline(container_factory):
    echo = container_factory(EchoService)
    echo.start()
    caller = container_factory(CallerService)
    caller.start()
    echo.stop()  # its queue stays, nobody consumes it
    with entrypoint_hook(caller, "call_many") as call_many:
        with pytest.raises(Unavailable):
            call_many(1)


def test_requests_and_replies_are_transient_and_only_requests_confirmed(container_factory, monkeypatch):
    """Neither an RPC request nor its reply is worth a disk write; the request keeps publisher
    confirms (with `mandatory`, they report a service that does not exist)."""
    from nameko.amqp.publish import Publisher
    sent = []
    _record_calls(monkeypatch, Publisher, "publish", lambda self, payload, **kwargs: sent.append(
        (kwargs.get("routing_key"), self.delivery_mode, self.use_confirms, kwargs.get("mandatory", self.mandatory))))
    with entrypoint_hook(_echo_and_caller(container_factory), "call_many") as call_many:
        assert call_many(3) == [0, 1, 2]
    requests = [s for s in sent if s[0] == "rpcclient_echo.echo"]
    replies = [s for s in sent if s[0] != "rpcclient_echo.echo"]  # to the caller's reply queue
    assert len(requests) == 3 and len(replies) == 3
    assert all(mode == 1 and confirms and mandatory for _, mode, confirms, mandatory in requests)
    assert all(mode == 1 and not confirms for _, mode, confirms, _ in replies)
