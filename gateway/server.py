"""nameko's web server, answering in JSON even before a route matched.

Werkzeug's own errors (a path no rule can match, such as one with a newline in
it; a malformed request line) would otherwise leave as HTML pages.
"""
import socket

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from gateway.errors import error_response

_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "bad_request"}


class JsonWsgiApp(WsgiApp):
    def __init__(self, server):
        super().__init__(server)
        # The routes without the catch-all (/<path:...>, which takes every method): a known path asked
        # with a method it lacks is a 405 with Allow, not "this route does not exist".
        self.known_map = Map([Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
                              for rule in self.url_map.iter_rules() if not rule.rule.startswith("/<path:")])

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        try:
            try:
                provider, values = self.known_map.bind_to_environ(environ).match()
            except MethodNotAllowed as exc:
                allow = ", ".join(sorted(set(exc.valid_methods or ()) | {"OPTIONS"}))
                if request.method == "OPTIONS":
                    return Response(status=204, headers={"Allow": allow})(environ, start_response)
                response = error_response(405, "method_not_allowed", "Deze methode kan niet op deze route.",
                                          headers={"Allow": allow})
                return response(environ, start_response)
            except NotFound:
                # the catch-all answers (and logs) unknown routes
                provider, values = self.url_map.bind_to_environ(environ).match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            status = exc.code or 400
            if status == 405:  # only the catch-all lacks a method (OPTIONS): still an unknown route
                status = 404
            message = "Deze route bestaat niet." if status == 404 else "Ongeldig verzoek."
            response = error_response(status, _CODES.get(status, "bad_request"), message)
        return response(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)

    def process_request(self, sock, address):
        # eventlet's wsgi sends the headers and then a body past its buffer in a second write; with
        # Nagle's algorithm on, that write waits for the client's delayed ACK: +40-55 ms on any answer
        # over ~8 KB (a page of clients), measured in bench identity.
        set_nodelay(sock)
        super().process_request(sock, address)


def set_nodelay(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a unix socket in a test), or already closed by the client
        pass


class ApiRequestHandler(HttpRequestHandler):
    server = JsonWebServer()


http = ApiRequestHandler.decorator
