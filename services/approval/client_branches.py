"""approval's copy of identity's client → branch mapping (chassis.client_branches): a client's
requests and documents follow it to its new branch, and a new request is filed under the branch
the client is in now, not the one it had when the request was opened."""
from chassis import client_branches as copy
from approval.models import ClientBranch, Document, Request

FOLLOWERS = (Request, Document)


def branch_for_new_request(session, client: dict) -> int | None:
    return copy.branch_locked(session, ClientBranch, client)
