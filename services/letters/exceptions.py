"""letters' domain errors (mapped to HTTP in gateway/routes/letters.py)."""
from chassis.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable


class BatchNotFound(NotFound):
    code = "batch_not_found"


class BatchNotReady(Conflict):
    code = "batch_not_ready"


class BatchPurged(Conflict):
    status = 410  # gone: purged after the retention period
    code = "batch_purged"


class NotAllowed(Forbidden):
    code = "forbidden"


class InvalidLayout(Invalid):
    code = "invalid_layout"


class BatchUnreadable(Unavailable):
    """The stored PDF does not decrypt or its chunks are out of place (tampering, or a changed key)."""
    code = "batch_unreadable"
