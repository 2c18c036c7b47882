"""Approve and decline, confirmed by the user's PIN or an SMS code bound to the request.

The secret is checked by identity (``confirm``) before the request row is locked, so
a slow check never holds the lock. Then, with ``SELECT ... FOR UPDATE`` on the
request, the state is read again and the decision recorded: two users approving at
the same moment are serialised on that row, both count, and exactly one of them
sees the last approval arrive and completes the request. A user counts once.

The method follows the secret given, but it is never the caller's choice (SPEC §3): identity
counts only the user's own method, as it holds it now, and a ``must`` participant confirms by SMS
whatever that is (refused here, since identity does not know the request's rights).
"""
from approval import evidence, requests, rights
from approval.exceptions import AlreadyDecided, ConfirmationRequired, NotEligible, RequestClosed
from approval.models import PENDING, Participant

import sqlalchemy as sa


def binding(request) -> dict:
    return {"request_id": request.id, "sha256": request.sha256}


def _participant(session, request_id: int, user_id: int) -> Participant | None:
    return session.scalars(sa.select(Participant).where(Participant.request_id == request_id,
                                                        Participant.user_id == user_id)
                           .execution_options(populate_existing=True)).first()


def _precheck(session, principal, request_id: int):
    if not principal.is_client:
        raise NotEligible("Alleen cliëntgebruikers accorderen documenten.")
    if not principal.has_right("approval"):  # the module taken away ends the say a snapshot gave
        raise NotEligible("U heeft geen rechten om documenten te accorderen.")
    request = requests.visible(session, principal, request_id)
    part = _participant(session, request.id, principal.user_id)
    if part is None:  # visible() already requires this; kept for clarity
        raise NotEligible("U mag dit document niet accorderen.")
    _check_open(request, part)
    return request, part


def _check_open(request, part):
    if request.status != PENDING:
        raise RequestClosed("Dit verzoek is al afgesloten en neemt geen beslissingen meer aan.",
                            {"status": request.status})
    if part.decision is not None:
        raise AlreadyDecided("U heeft dit verzoek al beoordeeld.", {"decision": part.decision})


MUST_USE_SMS = "U bevestigt dit document met een sms-code; een PIN-code wordt hiervoor niet geaccepteerd."


def send_code(session, principal, request_id: int, audit: dict, send) -> dict:
    request, _ = _precheck(session, principal, request_id)
    send(principal.user_id, binding(request))  # identity sends none to a user who confirms with a PIN
    request = requests.lock_request(session, request.id)
    evidence.append(session, request, "code_sent", principal, audit, method="sms")
    return {"sent": True, "request_id": request.id}


def _confirm(principal, request, part, data, confirm) -> str:
    method = "pin" if data.get("pin") else "sms"  # the schema lets exactly one secret through
    if part.role == "must" and method != "sms":
        raise ConfirmationRequired(MUST_USE_SMS, {"field": "code", "method": "sms"})
    confirm(principal.user_id, method, data.get("pin") or data.get("code"), binding(request))
    return method


def approve(session, principal, request_id: int, data: dict, audit: dict, confirm, events) -> dict:
    request, part = _precheck(session, principal, request_id)
    method = _confirm(principal, request, part, data, confirm)
    return record_approval(session, principal, request.id, method, audit, events)


def record_approval(session, principal, request_id: int, method: str, audit: dict, events) -> dict:
    """The locked part of an approval: count this user once, complete the request exactly once."""
    request = requests.lock_request(session, request_id)
    part = _participant(session, request_id, principal.user_id)
    _check_open(request, part)
    part.decision, part.decided_at, part.method = "approved", evidence.utcnow(), method
    session.flush()
    evidence.append(session, request, "approved", principal, audit, method=method)
    parts = requests.participants(session, [request.id])[request.id]
    if request.rule == rights.ALL_MUST:
        done = all(p.decision == "approved" for p in parts if p.role == "must")
    else:
        done = True
    if done:
        requests.close(session, request, "approved", principal.user_id)
        evidence.append(session, request, "completed", None, None,
                        details={"approved_by": [p.user_id for p in parts if p.decision == "approved"]})
        events.emit("request_approved", requests.event_data(request, principal.user_id))
    session.flush()
    parts = requests.participants(session, [request.id])[request.id]
    out = requests.view(session, principal, request, parts)
    return {"id": request.id, "status": request.status, "approved_by": out["approved_by"],
            "waiting_for": out["waiting_for"]}


def decline(session, principal, request_id: int, data: dict, audit: dict, confirm, events) -> dict:
    request, part = _precheck(session, principal, request_id)
    method = _confirm(principal, request, part, data, confirm)
    request = requests.lock_request(session, request.id)
    part = _participant(session, request.id, principal.user_id)
    _check_open(request, part)
    part.decision, part.decided_at, part.method = "declined", evidence.utcnow(), method
    session.flush()
    requests.close(session, request, "declined", principal.user_id, data["reason"])
    evidence.append(session, request, "declined", principal, audit, method=method,
                    details={"reason": data["reason"]})
    events.emit("request_declined", requests.event_data(request, principal.user_id))
    out = requests.view(session, principal, request)
    return {"id": request.id, "status": request.status, "reason": request.reason,
            "approved_by": out["approved_by"], "declined_by": out["declined_by"], "waiting_for": []}
