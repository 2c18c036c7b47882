"""The gateway's one error table: remote error paths → local classes → SPEC §4 JSON.

Services raise subclasses of chassis.errors; nameko sends the class path and
args. For each path a route module registers here, a local class carrying the
HTTP status and error code is put in nameko's exception registry, so the RPC
proxy raises it in the gateway without importing the service's package.
"""
import logging
import socket

from nameko import exceptions as nameko_exceptions
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService
from werkzeug.wrappers import Response

from chassis import errors as chassis_errors
from chassis import serialization
from chassis.errors import AkkoordError

log = logging.getLogger(__name__)

# path → (status, code); filled by register_remote_errors() from gateway/routes/*.py
ERROR_TABLE: dict[str, tuple[int, str]] = {}


class RemoteDomainError(AkkoordError):
    """Base of the local classes standing in for a service's domain errors."""
    remote_path = ""


def register_remote_errors(table: dict[str, tuple[int, str]]):
    for path, (status, code) in table.items():
        name = path.rsplit(".", 1)[-1]
        # The local class keeps the remote path as its own, so a service relaying it
        # (in the same process, as in tests) sends it on under the same name.
        local = type(name, (RemoteDomainError,), {"status": status, "code": code, "remote_path": path,
                                                  "__module__": path.rsplit(".", 1)[0]})
        ERROR_TABLE[path] = (status, code)
        nameko_exceptions.registry[path] = local


def _register_chassis_errors():
    # Generic errors raised by any service through the shared chassis package.
    for cls in (chassis_errors.BadRequest, chassis_errors.NotAuthenticated, chassis_errors.Forbidden,
                chassis_errors.NotFound, chassis_errors.Conflict, chassis_errors.TooLarge,
                chassis_errors.Invalid, chassis_errors.TooManyAttempts, chassis_errors.Unavailable):
        path = f"{cls.__module__}.{cls.__name__}"
        ERROR_TABLE[path] = (cls.status, cls.code)
        nameko_exceptions.registry[path] = cls


_register_chassis_errors()


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None) -> Response:
    body = {"error": code, "message": message}
    if details:
        body["details"] = details
    return Response(serialization.dumps_text(body), status=status,
                    mimetype="application/json", headers=headers)


def retry_after(status: int, details: dict) -> dict:
    """The Retry-After header of a refusal for too many tries (429 with ``retry_after`` seconds), for the API's
    answers and the web pages alike."""
    return {"Retry-After": str(int(details["retry_after"]))} if status == 429 and details.get("retry_after") else {}


def from_exception(exc: Exception) -> Response:
    if isinstance(exc, AkkoordError):
        details = exc.details if isinstance(exc.details, dict) else {}
        headers = retry_after(exc.status, details)
        message = exc.message if isinstance(exc.message, str) and exc.message else "Er ging iets mis."
        return error_response(exc.status, exc.code, message, details, headers)
    # MethodNotFound: during a rolling upgrade a new gateway can reach an older replica that lacks the method;
    # a retry reaches a new one, so it is "not available now", not our error
    if isinstance(exc, (UnknownService, MethodNotFound, socket.error, ConnectionError)) or (
            isinstance(exc, RemoteError) and exc.exc_type == "MethodNotFound"):
        log.warning("service unavailable", extra={"error": type(exc).__name__})
        return error_response(503, "unavailable", "Een onderdeel van het portaal is tijdelijk niet bereikbaar.")
    if isinstance(exc, RemoteError):
        log.error("unmapped remote error", extra={"exc_type": exc.exc_type})
    else:
        log.exception("unexpected error in gateway")
    return error_response(500, "internal", "Er ging iets mis aan onze kant.")
