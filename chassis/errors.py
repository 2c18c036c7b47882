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
