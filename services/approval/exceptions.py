"""approval's domain errors (mapped to HTTP in gateway/routes/approval.py)."""
from chassis.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, TooManyAttempts


class RequestNotFound(NotFound):
    code = "approval_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class NotAPdf(Invalid):
    code = "not_a_pdf"


class DocumentTooLarge(TooLarge):
    code = "document_too_large"


class UnknownDocumentType(Invalid):
    code = "unknown_document_type"


class DocumentTypeExists(Conflict):
    code = "document_type_exists"


class NoApprovers(Invalid):
    code = "no_approvers"


class MustNeedsSms(Invalid):
    code = "must_needs_sms"


class UnknownClientUser(Invalid):
    code = "unknown_client_user"


class RequestClosed(Conflict):
    code = "request_closed"


class DocumentAltered(Conflict):
    code = "document_altered"


class AlreadyDecided(Conflict):
    code = "already_decided"


class ConfirmationRequired(Invalid):
    code = "confirmation_required"


class NotEligible(Forbidden):
    code = "not_eligible"


class SelfManagementOff(Forbidden):
    code = "self_management_off"


class NotAllowed(Forbidden):
    code = "forbidden"


# Confirmation failures reported by identity, passed on under approval's own names.
class WrongPin(Invalid):
    code = "wrong_pin"


class SmsLimitReached(TooManyAttempts):
    code = "sms_limit"


class PinLocked(TooManyAttempts):  # SPEC §4: 429 for too many tries
    code = "pin_locked"


class NoPin(Invalid):
    code = "no_pin"


class MobileRequired(Invalid):
    code = "mobile_required"


class SmsFailed(Invalid):
    code = "sms_failed"


class WrongCode(Invalid):
    code = "wrong_code"


class CodeExpired(Invalid):
    code = "code_expired"
