"""The gateway's HTTP server turns Nagle's algorithm off on every connection it accepts.

eventlet's wsgi writes an answer as headers, then the body; with Nagle on, a body past the write
buffer waits for the client's delayed ACK (bench identity measured +40-55 ms on a page of clients).
"""
import socket

from gateway.server import JsonWebServer


class RecordingWsgiServer:
    def __init__(self):
        self.seen = []

    def process_request(self, args):
        sock = args[1] if isinstance(args, list) else args[0]
        self.seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_accepted_connections_have_nodelay():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, address = listener.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # the kernel's default
        server = JsonWebServer()
        server._serv = RecordingWsgiServer()
        server.process_request(accepted, address)
        assert server._serv.seen == [1]
    finally:
        for s in (accepted, client, listener):
            s.close()
