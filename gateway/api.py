"""The gateway's HTTP plumbing: one ``route`` decorator for every endpoint.

``@route(...)`` wraps nameko's ``@http`` and does, for every endpoint alike:
authenticate the bearer token (or cookie) through identity, parse and validate
the JSON body or query with a marshmallow schema, turn the handler's return
value into JSON, and turn every error into SPEC §4's ``{error, message}``.
Each route is also recorded for the OpenAPI document (gateway/openapi.py).
"""
import functools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError
from nameko.exceptions import RemoteError, UnknownService
from gateway.server import http
from werkzeug.wrappers import Response

from chassis import config, serialization
from chassis.errors import AkkoordError, BadRequest, NotAuthenticated
from gateway.errors import error_response, from_exception

log = logging.getLogger("gateway.access")

MAX_JSON_BYTES = 1 * 1024 * 1024
MAX_JSON_DEPTH = 32  # no body of ours nests deeper; a deeper one only costs recursion
SESSION_COOKIE = "akkoord_session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class RouteSpec:
    method: str
    path: str  # werkzeug rule, e.g. /api/v1/clients/<int:client_id>
    summary: str
    tags: list
    auth: str  # "user", "platform", "none", "optional"
    body: Schema | None = None
    query: Schema | None = None
    response: Schema | None = None
    status: int = 200
    content: str = "application/json"  # request body type: json or multipart/form-data
    produces: str = "application/json"
    errors: list = field(default_factory=list)


ROUTES: list[RouteSpec] = []


def json_response(payload, status=200, headers=None) -> Response:
    return Response(serialization.dumps_text(payload), status=status,
                    mimetype="application/json", headers=headers)


def bearer_token(request) -> str | None:
    return credentials(request)[0]


def credentials(request) -> tuple[str | None, bool]:
    """(token, from_cookie): the Authorization header first, else the web pages' session cookie."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None, False
    token = request.cookies.get(SESSION_COOKIE)
    return token or None, bool(token)


def check_same_site(request):
    """A browser sends the cookie along with requests that other sites make it send (CSRF), so a
    change authenticated by the cookie alone must come from our own origin, or carry
    X-Requested-With (a custom header, which another site cannot add without our CORS consent)."""
    if request.method in SAFE_METHODS:
        # Reads change things too (a document opened is recorded as viewed in the evidence, a letter batch's
        # first download marks it printed): a link on another site must not make the cookie do that in the
        # user's name. Browsers say where a request comes from (Fetch metadata); our own pages are same-origin.
        if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
            raise _CrossSite()
        return
    if request.headers.get("X-Requested-With"):
        return
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if source and source != "null":
        origin = urlsplit(source)
        if origin.netloc.lower() == (request.host or "").lower():
            return
        # Behind an ingress that sets its own Host, the browser's origin is the public address.
        public = urlsplit(os.environ.get("AKKOORD_PUBLIC_URL") or "")
        if public.netloc and (origin.scheme.lower(), origin.netloc.lower()) == (public.scheme.lower(),
                                                                                public.netloc.lower()):
            return
    raise _CrossSite()


def _load_json(request, schema: Schema):
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise _TooLarge()
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # werkzeug reads no body without a length (eventlet's input does not say it is terminated);
        # the server's input decodes the chunks: read them, bounded, instead of taking the body as empty
        raw = request.environ["wsgi.input"].read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            raise _TooLarge()
    else:
        raw = request.get_data(cache=True)
    if not raw:
        data = {}
    else:
        mimetype = request.mimetype or ""
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            raise _UnsupportedType()
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _TooDeep() from None
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("De body is geen geldige JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("De body moet een JSON-object zijn.")
    _refuse_nul(data)
    return schema.load(data)


def _refuse_nul(value, depth=0):
    """NUL characters are never meaningful in our text and PostgreSQL refuses them."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequest("De invoer bevat een ongeldig teken (NUL).")
    elif isinstance(value, (dict, list)):
        if depth >= MAX_JSON_DEPTH:
            raise _TooDeep()
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            _refuse_nul(key, depth + 1)
            _refuse_nul(item, depth + 1)


class _TooDeep(BadRequest):
    def __init__(self):
        super().__init__("De JSON is te diep genest.")


class _CrossSite(AkkoordError):
    status, code = 403, "csrf_refused"

    def __init__(self):
        super().__init__("Dit verzoek komt niet van het portaal zelf; log in via het portaal of gebruik een "
                         "Authorization-header.")


class _TooLarge(AkkoordError):
    status, code = 413, "too_large"

    def __init__(self):
        super().__init__("Het verzoek is te groot.")


class _UnsupportedType(AkkoordError):
    status, code = 415, "unsupported_media_type"

    def __init__(self):
        super().__init__("Stuur JSON met Content-Type: application/json.")


def route(method: str, path: str, *, summary: str, tags=("general",), auth: str = "user",
          body: Schema | None = None, query: Schema | None = None, response: Schema | None = None,
          status: int = 200, content: str = "application/json", produces: str = "application/json",
          errors=()):
    """Declare an endpoint. The handler is called as ``fn(self, request, ctx, **path_args)``.

    ``ctx`` has ``principal`` (dict or None), ``body`` and ``query`` (validated
    dicts), ``ip`` and ``user_agent``. The handler returns a JSON-safe value, a
    ``(value, status)`` pair, or a werkzeug ``Response``. ``errors``: the statuses of the owning
    service's domain errors this route can answer (409, 410, 429...), for the OpenAPI document.
    """
    spec = RouteSpec(method, path, summary, list(tags), auth, body, query, response, status, content, produces,
                     sorted(int(code) for code in errors))
    ROUTES.append(spec)

    def decorator(fn):
        @functools.wraps(fn)
        def endpoint(self, request, **path_args):
            started = time.perf_counter()
            try:
                ctx = RequestContext(request)
                token, from_cookie = credentials(request)
                if from_cookie and auth != "none":
                    check_same_site(request)
                if auth in ("user", "optional"):
                    if token:
                        ctx.principal = self.resolve_principal(token, ctx.ip)
                    elif auth == "user":
                        raise NotAuthenticated("Niet ingelogd.")
                elif auth == "platform":
                    ctx.principal = self.platform_principal(token)
                if body is not None and content == "application/json":  # multipart: the handler reads the form
                    ctx.body = _load_json(request, body)
                if query is not None:
                    args = request.args.to_dict()
                    _refuse_nul(args)
                    ctx.query = query.load(args)
                result = fn(self, request, ctx, **path_args)
                response = result if isinstance(result, Response) else _to_response(result, status)
            except ValidationError as exc:
                response = error_response(422, "invalid", "De invoer is ongeldig.", {"fields": exc.messages})
            except Exception as exc:  # every error leaves as SPEC §4 JSON, never a stack trace
                response = from_exception(exc)
            log.info("request", extra={"method": request.method, "path": request.path,
                                       "status": response.status_code,
                                       "ms": round((time.perf_counter() - started) * 1000, 1)})
            return response

        return http(method, path)(endpoint)

    return decorator


def _to_response(result, default_status):
    if isinstance(result, tuple):
        payload, status = result
    else:
        payload, status = result, default_status
    if status == 204:
        return Response(status=204)
    return json_response(payload, status)


def client_ip(request, trusted_proxies: int | None = None) -> str:
    """The caller's address, as identity's login and sessions and the approval evidence record it.

    X-Forwarded-For is written by whoever sends the request, so only the entries appended by our own
    proxies count (AKKOORD_TRUSTED_PROXIES of them, as werkzeug's ProxyFix): the Nth from the right.
    With 0, or fewer entries than proxies, the socket's remote address is used.
    """
    hops = config.trusted_proxies() if trusted_proxies is None else trusted_proxies
    remote = request.remote_addr or ""
    if hops <= 0:
        return remote
    # several X-Forwarded-For headers arrive joined with commas (eventlet's wsgi), in order
    entries = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    entries = [part for part in entries if part]
    if len(entries) < hops:
        return remote
    return entries[-hops][:45]  # the longest textual IPv6 address; the columns that keep it are this wide


class RequestContext:
    def __init__(self, request):
        self.principal = None
        self.body = {}
        self.query = {}
        self.ip = client_ip(request)
        self.user_agent = request.headers.get("User-Agent", "")[:500]

    @property
    def audit(self) -> dict:
        """Who did it, from where: passed to services that keep evidence."""
        return {"ip": self.ip, "user_agent": self.user_agent}


__all__ = ["route", "ROUTES", "json_response", "client_ip", "RemoteError", "UnknownService"]
