"""notify's domain errors (mapped to HTTP in gateway/routes/notify.py)."""
from chassis.errors import Forbidden, Invalid, NotFound, TooManyAttempts, Unavailable


class SmsRefused(Invalid):
    """A send refused before it reached the carrier; the message says why."""
    code = "sms_refused"


class SmsLimitReached(TooManyAttempts):
    """Too many codes to one number, or the firm's daily cap."""
    code = "sms_limit"


class SmsFailed(Invalid):
    """The carrier (twilio) refused the message; not retried."""
    code = "sms_failed"


class EmailRefused(Invalid):
    code = "email_refused"


class EmailFailed(Invalid):
    code = "email_failed"


class InvalidSignature(Forbidden):
    code = "invalid_signature"


class NewsNotAllowed(Forbidden):
    code = "forbidden"


class BranchNotFound(NotFound):
    code = "branch_not_found"


class DevPageDisabled(NotFound):
    code = "not_found"


class CarrierUnavailable(Unavailable):
    code = "unavailable"
