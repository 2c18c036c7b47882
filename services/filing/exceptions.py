"""filing's domain errors (mapped in gateway/routes/filing.py)."""
from chassis.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable


class FilingNotFound(NotFound):
    code = "filing_not_found"


class NotAnnualAccounts(Invalid):
    code = "not_annual_accounts"


class AlreadyFiled(Conflict):
    code = "already_filed"


class NotAllowed(Forbidden):
    code = "forbidden"


class ChannelUnavailable(Unavailable):
    code = "channel_unavailable"
