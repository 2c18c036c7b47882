"""identity's domain errors (mapped to HTTP in gateway/routes/identity.py)."""
from chassis.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound, TooManyAttempts, Unavailable


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class SessionExpired(NotAuthenticated):
    code = "session_expired"


class LoginThrottled(TooManyAttempts):
    code = "login_throttled"


class WeakPassword(Invalid):
    code = "weak_password"


class WrongPassword(Invalid):
    """The current password, asked again when a logged-in user changes it."""
    code = "wrong_password"


class UsernameTaken(Conflict):
    code = "username_taken"


class FirmNotFound(NotFound):
    code = "firm_not_found"


class NotAllowed(Forbidden):
    code = "forbidden"


class ClientNumberTaken(Conflict):
    code = "client_number_taken"


class WrongPin(Invalid):
    code = "wrong_pin"


class PinLocked(TooManyAttempts):  # SPEC §4: 429 for too many tries; it holds until staff reissue
    code = "pin_locked"


class NoPin(Invalid):
    code = "no_pin"


class WrongCode(Invalid):
    code = "wrong_code"


class CodeExpired(Invalid):
    code = "code_expired"


class MobileRequired(Invalid):
    code = "mobile_required"


class WrongConfirmationMethod(Invalid):
    """A PIN offered by a user who confirms by SMS, or an SMS code by one who confirms with a PIN."""
    code = "wrong_confirmation_method"


class InvalidActivation(Invalid):
    code = "invalid_activation"


class SmsFailed(Invalid):
    code = "sms_failed"


class SmsLimitReached(TooManyAttempts):
    """notify's limit of codes per number: identity's own class, so a caller (approval) that does not
    know notify's errors still gets a 429 with notify's reason and retry_after."""
    code = "sms_limit"


class LettersFailed(Unavailable):
    code = "letters_unavailable"


class MailFailed(Unavailable):
    code = "mail_unavailable"
