"""Filing approved annual accounts and following their status.

A filing is recorded (committed, ``queued``) before the channel hears of it; the channel is then
called outside any transaction of ours, right after the commit and, when that fails, by the
service's timer with backoff. Each filing has a stable ``submission_id``: the channel files it once
however often we retry, and a retry first asks the channel whether it already has it.
"""
import base64
import datetime as dt
import logging
import os
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from chassis import retry
from filing import client_branches
from filing.exceptions import AlreadyFiled, ChannelUnavailable, FilingNotFound, NotAllowed, NotAnnualAccounts
from filing.models import Filing, utcnow

log = logging.getLogger(__name__)

STATUS_LABELS = {"queued": "In de wachtrij voor de KvK", "submitted": "Ingediend, wacht op de KvK",
                 "accepted": "Gedeponeerd", "rejected": "Afgewezen door de KvK", "failed": "Niet verstuurd"}
LIVE = ("queued", "submitted", "accepted")
POLL_BATCH = 100
SUBMIT_BATCH = 20
# Longer than any channel call: while it runs no other worker or replica touches the filing.
LEASE = dt.timedelta(seconds=120)


def max_attempts() -> int:
    return int(os.environ.get("AKKOORD_FILING_MAX_ATTEMPTS", "10"))


def retry_base() -> float:
    return float(os.environ.get("AKKOORD_FILING_RETRY_BASE", "15"))


def backoff(attempts: int) -> dt.timedelta:
    """15, 30, 60 s ... (by default) with jitter, capped at 30 minutes."""
    return retry.backoff(attempts, retry_base(), 1800.0)


def require_filer(principal):
    if not principal.is_staff or not principal.has_right("filing"):
        raise NotAllowed("U heeft geen rechten om te deponeren.")


def file(db, principal, approval_id: int, approved_document, get_client, channel, events) -> dict:
    """Record the filing of the approved annual accounts of approval request ``approval_id``, commit,
    then try the channel once; the answer is the filing, ``submitted`` or still ``queued``.

    ``approved_document`` and ``get_client`` are the approval and identity RPCs; both
    enforce the principal's scope themselves (404 for what it may not see).
    """
    session = db.session
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
        Filing.status.in_(LIVE)).order_by(Filing.id).limit(1))
    if live:
        raise AlreadyFiled("Deze jaarrekening is al gedeponeerd of wacht op de KvK.", {"filing_id": live})
    now = utcnow()
    # Leased to this worker: the timer leaves it alone while we try the channel just below.
    filing = Filing(firm_id=principal.firm_id, branch_id=branch_id, client_id=client["id"],
                    client_name=client["name"], kvk=client.get("kvk"), approval_id=approval_id,
                    sha256=document["sha256"], channel=channel.name, status="queued",
                    submission_id="AKK-" + uuid.uuid4().hex.upper(), attempts=0, next_attempt_at=now,
                    lease_until=now + LEASE, pdf=base64.b64decode(document["pdf_base64"]),
                    created_by=principal.user_id, created_at=now, updated_at=now)
    session.add(filing)
    try:
        session.flush()
    except IntegrityError:  # a colleague filed the same document at the same moment
        session.rollback()
        raise AlreadyFiled("Deze jaarrekening is al gedeponeerd of wacht op de KvK.") from None
    db.commit()  # on record before the KvK hears of it
    deliver(db, filing, channel, events, first=True)
    return view(filing)


def claim_due(session, channel_name: str, limit: int = SUBMIT_BATCH) -> list[int]:
    """Queued filings whose retry time has come (or whose worker died with its lease), leased to this
    worker. SKIP LOCKED and the lease keep two replicas from submitting one filing at the same time."""
    now = utcnow()
    rows = session.scalars(sa.select(Filing).where(
        Filing.status == "queued", Filing.channel == channel_name, Filing.next_attempt_at <= now,
        sa.or_(Filing.lease_until.is_(None), Filing.lease_until < now))
        .order_by(Filing.next_attempt_at).limit(limit).with_for_update(skip_locked=True)).all()
    for filing in rows:
        filing.lease_until = now + LEASE
    return [filing.id for filing in rows]


def submit_due(db, channel, events) -> int:
    """The timer's pass: claim, commit, then deliver one by one. When the channel fails the pass
    stops and hands the rest back: a channel that is down gets one probe per pass, not a storm."""
    ids = claim_due(db.session, channel.name)
    db.commit()
    submitted = 0
    for index, filing_id in enumerate(ids):
        filing = db.session.get(Filing, filing_id)
        if filing is None or filing.status != "queued":
            continue
        if deliver(db, filing, channel, events):
            submitted += 1
            continue
        rest = ids[index + 1:]
        if rest:
            db.session.execute(sa.update(Filing).where(Filing.id.in_(rest), Filing.status == "queued")
                               .values(lease_until=None))
            db.commit()
        break
    return submitted


def deliver(db, filing: Filing, channel, events, first: bool = False) -> bool:
    """One try at the channel for a leased, queued filing; records the outcome and commits.

    Unless this is the very first try of a new filing, the channel is asked first whether it already
    has our submission_id: an earlier try may have reached it and died before we recorded it.
    """
    session = db.session
    pdf = filing.pdf
    db.commit()  # no transaction of ours stays open while the channel works
    reference, failure, asked = None, None, False
    try:
        if not first:
            reference = channel.find(session, filing.submission_id)
            asked = True
        if reference is None:
            reference = channel.submit(session, submission_id=filing.submission_id, kvk=filing.kvk,
                                       sha256=filing.sha256, pdf=pdf or b"")
    except ChannelUnavailable as exc:  # the channel says it did not take it
        failure, unknown = exc, False
    except Exception as exc:  # no answer: it may have taken it
        log.warning("filing channel gave no answer", exc_info=True,
                    extra={"filing_id": filing.id, "channel": filing.channel})
        failure, unknown = exc, True
    # Our lease may have run out during a very slow call: whoever recorded first wins.
    session.refresh(filing, with_for_update=True)
    if filing.status != "queued":
        db.commit()
        return True
    now = utcnow()
    filing.updated_at, filing.lease_until = now, None
    if failure is None:
        filing.status, filing.reference, filing.message = "submitted", reference, None
        filing.pdf, filing.next_attempt_at, filing.outcome_unknown = None, None, False
        events.emit("filing_submitted", _event(filing))
        log.info("filing submitted", extra={"filing_id": filing.id, "reference": reference})
        db.commit()
        return True
    filing.attempts += 1
    # a find() that answered "not there" settles an earlier unknown outcome
    filing.outcome_unknown = unknown or (filing.outcome_unknown and not asked)
    if filing.attempts >= max_attempts() and not filing.outcome_unknown:
        filing.status, filing.pdf, filing.next_attempt_at = "failed", None, None
        filing.message = (f"De KvK (Digipoort) was na {filing.attempts} pogingen niet bereikbaar; de jaarrekening "
                          f"is niet gedeponeerd. Dien haar opnieuw in.")
        events.emit("filing_failed", _event(filing))
        log.warning("filing failed", extra={"filing_id": filing.id, "attempts": filing.attempts})
    else:
        filing.next_attempt_at = now + backoff(filing.attempts)
        trouble = "gaf geen antwoord" if unknown else "is nu niet bereikbaar"
        filing.message = (f"De KvK (Digipoort) {trouble} (poging {filing.attempts}); "
                          f"wij proberen het automatisch opnieuw.")
    db.commit()
    return False


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
            "attempts": filing.attempts,
            "next_attempt_at": (filing.next_attempt_at.isoformat() + "Z"
                                if filing.status == "queued" and filing.next_attempt_at else None),
            "created_at": filing.created_at.isoformat() + "Z", "updated_at": filing.updated_at.isoformat() + "Z"}


def _event(filing: Filing) -> dict:
    return {"filing_id": filing.id, "firm_id": filing.firm_id, "branch_id": filing.branch_id,
            "client_id": filing.client_id, "approval_id": filing.approval_id, "status": filing.status}
