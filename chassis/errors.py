"""Domain errors that cross RPC.

Each service's ``exceptions.py`` subclasses these. nameko serialises a raised
error as its class path plus its args; the gateway maps those paths to local
classes (gateway/errors.py) so it never imports another service's package.
The args are always ``(message, details)``: a Dutch message for users and a
JSON-safe dict (for example per-field errors).
"""


class AkkoordError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", details: dict | None = None):
        super().__init__(message, details or {})

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def details(self) -> dict:
        return self.args[1]


class BadRequest(AkkoordError):
    status, code = 400, "bad_request"


class NotAuthenticated(AkkoordError):
    status, code = 401, "not_authenticated"


class Forbidden(AkkoordError):
    status, code = 403, "forbidden"


class NotFound(AkkoordError):
    status, code = 404, "not_found"


class Conflict(AkkoordError):
    status, code = 409, "conflict"


class TooLarge(AkkoordError):
    status, code = 413, "too_large"


class Invalid(AkkoordError):
    status, code = 422, "invalid"


class TooManyAttempts(AkkoordError):
    status, code = 429, "too_many_attempts"


class Unavailable(AkkoordError):
    status, code = 503, "unavailable"


# -- relaying another service's errors -------------------------------------------
# When service A calls B and B raises a domain error, A usually lets it travel on to
# the gateway. nameko only rebuilds classes it finds in its registry, so without help
# A would turn B's error into a RemoteError (a 500). The registry below rebuilds any
# "<service>.exceptions.<Name>" as a class that keeps that exact path and args, so it
# leaves A exactly as it left B, and the gateway's error table maps it.
import re as _re  # noqa: E402

from nameko import exceptions as _nameko_exceptions  # noqa: E402

_SERVICE_ERROR_PATH = _re.compile(r"^(identity|importer|approval|notify|letters|filing)\.exceptions\.([A-Za-z]\w*)$")


class _RelayRegistry(dict):
    def __contains__(self, key):
        return dict.__contains__(self, key) or bool(_SERVICE_ERROR_PATH.match(key or ""))

    def __missing__(self, key):
        match = _SERVICE_ERROR_PATH.match(key or "")
        if not match:
            raise KeyError(key)
        relay = type(match.group(2), (AkkoordError,), {"__module__": f"{match.group(1)}.exceptions"})
        self[key] = relay
        return relay


if not isinstance(_nameko_exceptions.registry, _RelayRegistry):
    _nameko_exceptions.registry = _RelayRegistry(_nameko_exceptions.registry)


# -- details keep their JSON types ------------------------------------------------
# nameko makes an error's args "safe" by turning everything that is not a string, a mapping
# or a list into its text, so {"filing_id": 7, "retry_after": 30, "seq": None} reached the
# HTTP caller as {"filing_id": "7", "retry_after": "30", "seq": "None"}. JSON's own scalars
# travel as they are; anything else is still made text, as nameko does.
_stringify_for_json = getattr(_nameko_exceptions.safe_for_serialization, "stringify", None) \
    or _nameko_exceptions.safe_for_serialization


def _safe_for_serialization(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _stringify_for_json(value)  # whose recursion into dicts and lists comes back here


_safe_for_serialization.stringify = _stringify_for_json
_nameko_exceptions.safe_for_serialization = _safe_for_serialization
