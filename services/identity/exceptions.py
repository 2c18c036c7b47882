"""identity's domain errors (mapped to HTTP in gateway/routes/identity.py)."""
from chassis.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound, TooManyAttempts


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class SessionExpired(NotAuthenticated):
    code = "session_expired"


class LoginThrottled(TooManyAttempts):
    code = "login_throttled"


class WeakPassword(Invalid):
    code = "weak_password"


class UsernameTaken(Conflict):
    code = "username_taken"


class FirmNotFound(NotFound):
    code = "firm_not_found"


class NotAllowed(Forbidden):
    code = "forbidden"
