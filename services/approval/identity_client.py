"""identity, as approval uses it: the RPC contract of docs/architecture.md, with identity's
errors turned into approval's (so the gateway maps them without knowing where they came from).

identity's error classes cross RPC by path; approval registers stand-ins for the ones it
expects, so they arrive typed (message and details) even in a process without the gateway.
"""
from nameko import exceptions as nameko_exceptions
from nameko.exceptions import RemoteError

from approval import exceptions as approval_errors
from chassis import errors as chassis_errors

CONFIRMATION_ERRORS = {
    "WrongPin": (approval_errors.WrongPin, "De PIN-code is onjuist."),
    "PinLocked": (approval_errors.PinLocked, "Uw PIN-code is geblokkeerd; vraag het kantoor om een nieuwe."),
    "WrongCode": (approval_errors.WrongCode, "De sms-code is onjuist."),
    "CodeExpired": (approval_errors.CodeExpired, "De sms-code is verlopen of al gebruikt; vraag een nieuwe aan."),
    "NoPin": (approval_errors.NoPin, "U heeft nog geen PIN-code; vraag uw kantoor om een PIN-brief."),
    "MobileRequired": (approval_errors.MobileRequired, "Er is geen mobiel nummer bekend voor sms-codes."),
    "SmsFailed": (approval_errors.SmsFailed, "De sms kon niet verstuurd worden; probeer het later opnieuw."),
    "SmsLimitReached": (approval_errors.SmsLimitReached, "Er zijn te veel codes naar dit nummer gestuurd; "
                                                         "probeer het later opnieuw."),
    # identity refuses a secret of a method that is not the user's own (a PIN after a switch to SMS, a code
    # for a PIN user); its message says which method counts
    "WrongConfirmationMethod": (approval_errors.ConfirmationRequired,
                                "Bevestig met de methode die het kantoor voor u heeft ingesteld."),
}
GENERIC = {cls.__name__: cls for cls in (
    chassis_errors.BadRequest, chassis_errors.NotAuthenticated, chassis_errors.Forbidden, chassis_errors.NotFound,
    chassis_errors.Conflict, chassis_errors.TooLarge, chassis_errors.Invalid, chassis_errors.TooManyAttempts,
    chassis_errors.Unavailable)}
BY_STATUS = {cls.status: cls for cls in GENERIC.values()}


def _register():
    for name in CONFIRMATION_ERRORS:
        path = f"identity.exceptions.{name}"
        if path not in nameko_exceptions.registry:
            nameko_exceptions.registry[path] = type(name, (chassis_errors.AkkoordError,), {"__module__": __name__})
    for name, cls in GENERIC.items():
        nameko_exceptions.registry.setdefault(f"chassis.errors.{name}", cls)


_register()


def translate(exc: Exception) -> Exception:
    """The approval-side error for an error identity raised."""
    if isinstance(exc, RemoteError):
        name, message, details = exc.exc_type, None, {}
    elif isinstance(exc, chassis_errors.AkkoordError):
        name, message, details = type(exc).__name__, exc.message, exc.details
    else:
        return exc
    if name in CONFIRMATION_ERRORS:
        cls, default = CONFIRMATION_ERRORS[name]
        return cls(message or default, details if isinstance(details, dict) else {})
    if isinstance(exc, chassis_errors.AkkoordError):
        if type(exc).__module__ == chassis_errors.__name__:
            return exc
        cls = BY_STATUS.get(getattr(exc, "status", 400), chassis_errors.BadRequest)
        return cls(message, details)
    if name in GENERIC:
        return GENERIC[name]("De gebruikersdienst weigerde dit verzoek.")
    return exc


class Identity:
    """Wraps the identity proxy of a worker."""

    def __init__(self, proxy):
        self._proxy = proxy

    def _call(self, rpc_name, *args, **kwargs):
        try:
            return getattr(self._proxy, rpc_name)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - translated, or re-raised as it was
            raise translate(exc) from None

    def client_scope(self, principal, client_id: int) -> dict:
        return self._call("client_scope", principal=principal.dump(), client_id=client_id)

    def client_users(self, principal, client_id: int) -> list:
        return self._call("client_users", principal=principal.dump(), client_id=client_id)

    def check_confirmation(self, user_id: int, method: str, secret: str, binding: dict | None) -> bool:
        return self._call("check_confirmation", user_id=user_id, method=method, secret=secret, binding=binding)

    def branch_layout(self, branch_id: int) -> dict:
        return self._call("branch_layout", branch_id=branch_id)

    def branch_firm_id(self, branch_id: int) -> int:
        return self.branch_layout(branch_id)["firm_id"]

    def send_confirmation_code(self, user_id: int, binding: dict) -> dict:
        return self._call("send_confirmation_code", user_id=user_id, binding=binding)
