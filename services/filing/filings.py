"""Filing approved annual accounts and following their status."""
import base64

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from filing import client_branches
from filing.exceptions import AlreadyFiled, FilingNotFound, NotAllowed, NotAnnualAccounts
from filing.models import Filing, utcnow

STATUS_LABELS = {"submitted": "Ingediend, wacht op de KvK", "accepted": "Gedeponeerd",
                 "rejected": "Afgewezen door de KvK", "failed": "Niet verstuurd"}
POLL_BATCH = 100


def require_filer(principal):
    if not principal.is_staff or not principal.has_right("filing"):
        raise NotAllowed("U heeft geen rechten om te deponeren.")


def file(session, principal, approval_id: int, approved_document, get_client, channel, events) -> dict:
    """Submit the approved annual accounts of approval request ``approval_id``.

    ``approved_document`` and ``get_client`` are the approval and identity RPCs; both
    enforce the principal's scope themselves (404 for what it may not see).
    """
    require_filer(principal)
    document = approved_document(principal=principal.dump(), request_id=approval_id)
    request = document["request"]
    if request["document_type"] != "annual_accounts":
        raise NotAnnualAccounts("Alleen geaccordeerde jaarrekeningen kunnen worden gedeponeerd.",
                                {"document_type": request["document_type"]})
    client = get_client(principal=principal.dump(), client_id=request["client"]["id"])
    # The client's branch now (filing's copy, kept from identity's events), not the request's at opening.
    branch_id = client_branches.branch_for_new_filing(session, client)
    # The same PDF approved twice (uploaded twice by mistake) is still one filing; the client's row lock
    # taken just above serialises this check with a colleague's filing of the same client.
    live = session.scalar(sa.select(Filing.id).where(
        sa.or_(Filing.approval_id == approval_id,
               sa.and_(Filing.client_id == client["id"], Filing.sha256 == document["sha256"])),
        Filing.status.in_(("submitted", "accepted"))).order_by(Filing.id).limit(1))
    if live:
        raise AlreadyFiled("Deze jaarrekening is al gedeponeerd of wacht op de KvK.", {"filing_id": live})
    filing = Filing(firm_id=principal.firm_id, branch_id=branch_id, client_id=client["id"],
                    client_name=client["name"], kvk=client.get("kvk"), approval_id=approval_id,
                    sha256=document["sha256"], channel=channel.name, status="submitted", created_by=principal.user_id)
    session.add(filing)
    try:
        session.flush()
    except IntegrityError:  # a colleague filed the same document at the same moment
        session.rollback()
        raise AlreadyFiled("Deze jaarrekening is al gedeponeerd of wacht op de KvK.") from None
    filing.reference = channel.submit(session, kvk=filing.kvk, sha256=filing.sha256,
                                      pdf=base64.b64decode(document["pdf_base64"]))
    events.emit("filing_submitted", _event(filing))
    return view(filing)


def poll(session, channel, events) -> int:
    """Ask the channel about submitted filings; record and announce each decision."""
    pending = session.scalars(sa.select(Filing).where(Filing.status == "submitted", Filing.channel == channel.name)
                              .order_by(Filing.id).limit(POLL_BATCH).with_for_update(skip_locked=True)).all()
    decided = 0
    for filing in pending:
        answer = channel.status(session, filing.reference)
        if answer is None:
            continue
        filing.status, filing.message = answer
        filing.updated_at = utcnow()
        events.emit(f"filing_{filing.status}", _event(filing))
        decided += 1
    return decided


def get(session, principal, filing_id: int) -> dict:
    return view(_visible(session, principal, filing_id))


def list_filings(session, principal, client_id=None, status=None) -> dict:
    require_filer(principal)
    query = sa.select(Filing).where(Filing.firm_id == principal.firm_id)
    if principal.branch_id is not None:
        query = query.where(Filing.branch_id == principal.branch_id)
    if client_id:
        query = query.where(Filing.client_id == client_id)
    if status:
        query = query.where(Filing.status == status)
    items = [view(f) for f in session.scalars(query.order_by(Filing.id.desc()).limit(500))]
    return {"items": items, "total": len(items)}


def _visible(session, principal, filing_id: int) -> Filing:
    require_filer(principal)
    filing = session.get(Filing, filing_id) if 0 < filing_id < 2**31 else None
    if filing is None or filing.firm_id != principal.firm_id or not principal.sees_branch(filing.branch_id):
        raise FilingNotFound("Deponering niet gevonden.")
    return filing


def view(filing: Filing) -> dict:
    return {"id": filing.id, "status": filing.status, "status_label": STATUS_LABELS[filing.status],
            "message": filing.message, "approval_id": filing.approval_id, "client_id": filing.client_id,
            "client_name": filing.client_name, "kvk": filing.kvk, "sha256": filing.sha256,
            "channel": filing.channel, "reference": filing.reference, "branch_id": filing.branch_id,
            "created_at": filing.created_at.isoformat() + "Z", "updated_at": filing.updated_at.isoformat() + "Z"}


def _event(filing: Filing) -> dict:
    return {"filing_id": filing.id, "firm_id": filing.firm_id, "branch_id": filing.branch_id,
            "client_id": filing.client_id, "approval_id": filing.approval_id, "status": filing.status}
