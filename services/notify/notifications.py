"""Notifications from approval events.

Handlers only *record* the messages (keyed by the event id and the recipient, in the
same transaction as the inbox row), and the delivery pass sends them. A redelivered
event finds its inbox row and does nothing; even without it, the keys would stop a
second message.

- ``request_opened``: every user who may or must approve gets an e-mail, and an SMS
  when the firm turned on "SMS bij nieuw verzoek" (settings.approval_sms).
- ``request_approved`` / ``request_declined``: the staff of the client's branch (and
  firm-wide staff) get an e-mail.
"""
import logging

from notify import carriers, mail, settings, sms, templates

log = logging.getLogger(__name__)

FALLBACK_SENDER = "Uw kantoor"


def branch_name(identity, branch_id, fallback: str | None = FALLBACK_SENDER) -> str | None:
    """The sender name of a branch's messages: its display name (layout) or name."""
    if branch_id is None:
        return fallback
    try:
        layout = identity.branch_layout(branch_id=branch_id)
    except Exception:  # identity away or branch unknown: the message still goes, signed in general
        log.warning("branch layout unavailable", extra={"branch_id": branch_id})
        return fallback
    return layout.get("display_name") or layout.get("name") or fallback


def request_opened(session, identity, data: dict, event_id: str) -> dict:
    sender = branch_name(identity, data["branch_id"])
    people = identity.contacts(user_ids=data["approver_user_ids"]) if data["approver_user_ids"] else []
    with_sms = settings.approval_sms_on(session, data["firm_id"])
    backend = carriers.sms_backend_name()
    counts = {"email": 0, "sms": 0}
    for person in people:
        if person.get("firm_id") != data["firm_id"]:
            continue  # never tell anyone outside the firm
        if person.get("email"):
            texts = templates.request_opened_mail(person["name"], data["title"], data["document_type"], sender)
            mail.enqueue(session, {"firm_id": data["firm_id"], "branch_id": data["branch_id"],
                                   "to": person["email"], "key": f"approval:{event_id}:email:{person['id']}",
                                   **texts}, sender)
            counts["email"] += 1
        if with_sms and person.get("mobile"):
            sms.enqueue(session, {"firm_id": data["firm_id"], "to": person["mobile"],
                                  "body": templates.request_opened_sms(data["title"], sender),
                                  "key": f"approval:{event_id}:sms:{person['id']}",
                                  "purpose": "approval_notice", "sender": None}, backend)
            counts["sms"] += 1
    log.info("request_opened notified", extra={"request_id": data["request_id"], **counts})
    return counts


def request_decided(session, identity, data: dict, event_id: str, decision: str) -> dict:
    sender = branch_name(identity, data["branch_id"])
    actor = "De cliënt"
    if data.get("by_user_id"):
        found = identity.contacts(user_ids=[data["by_user_id"]])
        if found and found[0].get("firm_id") == data["firm_id"]:
            actor = found[0]["name"]
    staff = identity.staff_contacts(firm_id=data["firm_id"], branch_id=data["branch_id"])
    sent = 0
    for person in staff:
        if not person.get("email") or person.get("firm_id") != data["firm_id"]:
            continue
        texts = templates.request_decided_mail(person["name"], decision, data["title"], data["document_type"],
                                               data["request_id"], actor, data.get("reason"), sender)
        mail.enqueue(session, {"firm_id": data["firm_id"], "branch_id": data["branch_id"], "to": person["email"],
                               "key": f"approval:{event_id}:email:{person['id']}", **texts}, sender)
        sent += 1
    log.info("request decision notified", extra={"request_id": data["request_id"], "decision": decision,
                                                 "email": sent})
    return {"email": sent}
