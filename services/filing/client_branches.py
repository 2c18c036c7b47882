"""filing's copy of identity's client → branch mapping (chassis.client_branches): a client's
filings follow it to its new branch, and a new filing belongs to the branch the client is in now."""
from chassis import client_branches as copy
from filing.models import ClientBranch, Filing

FOLLOWERS = (Filing,)


def branch_for_new_filing(session, client: dict) -> int | None:
    return copy.branch_locked(session, ClientBranch, client)
