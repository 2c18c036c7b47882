"""Notifications from approval events.

- ``request_opened``: every user who may or must approve gets an e-mail, and an SMS
  when the firm turned on "SMS bij nieuw verzoek" (settings.approval_sms).
- ``request_approved`` / ``request_declined``: the staff of the client's branch (and
  firm-wide staff) get an e-mail.

In two steps. The event handler only records a job (in the same transaction as its
inbox row, so an event delivered twice is recorded once). The delivery pass then
claims the job, asks identity for recipients and the branch name *outside* any
database transaction, and records the messages keyed by event and recipient — so a
job that runs twice still makes each message once. Keeping RPCs out of the handler's
transaction matters twice: identity being away delays notifications (the job is
retried with backoff) instead of parking the event as failed, and on the embedded
SQLite default no write lock is held while waiting for another service.
"""
import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from notify import carriers, mail, settings, sms, templates
from notify.models import NotificationJob

log = logging.getLogger(__name__)

FALLBACK_SENDER = "Uw kantoor"
JOB_ATTEMPTS = 8
STALE_WORKING = dt.timedelta(minutes=2)


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


# -- step 1: the event handler records a job --------------------------------------------
def record(session, kind: str, data: dict, event_id: str):
    now = sms.utcnow()
    try:
        with session.begin_nested():
            session.add(NotificationJob(event_id=event_id, kind=kind, data=data, status="pending", attempts=0,
                                        next_attempt_at=now, created_at=now, updated_at=now))
    except IntegrityError:
        log.info("notification job exists", extra={"event_id": event_id, "kind": kind})


# -- step 2: the delivery pass turns jobs into messages ------------------------------------
def claim_due(session, limit: int = 10) -> list[tuple]:
    now = sms.utcnow()
    rows = session.execute(sa.select(NotificationJob).where(sa.or_(
        sa.and_(NotificationJob.status == "pending", NotificationJob.next_attempt_at <= now),
        sa.and_(NotificationJob.status == "working", NotificationJob.updated_at < now - STALE_WORKING)))
        .order_by(NotificationJob.id).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    for row in rows:
        row.status, row.updated_at = "working", now
    return [(row.id, row.kind, row.event_id, dict(row.data)) for row in rows]


def run(db, identity, jobs: list[tuple]):
    """For each claimed job: recipients from identity (no transaction open), then the messages."""
    for job_id, kind, event_id, data in jobs:
        try:
            plan = _plan(identity, kind, data, event_id)
        except Exception as exc:
            _retry_later(db, job_id, exc)
            continue
        try:
            counts = _apply(db.session, data, plan)
            job = db.session.get(NotificationJob, job_id)
            job.status, job.updated_at, job.error = "done", sms.utcnow(), None
            db.commit()
            log.info("notification job done", extra={"job_id": job_id, "kind": kind, **counts})
        except Exception as exc:
            db.rollback()
            _retry_later(db, job_id, exc)


def _retry_later(db, job_id, exc):
    job = db.session.get(NotificationJob, job_id)
    job.attempts += 1
    job.error = f"{type(exc).__name__}: {exc}"[:500]
    job.updated_at = sms.utcnow()
    if job.attempts >= JOB_ATTEMPTS:
        job.status, job.next_attempt_at = "failed", None
        log.error("notification job failed", extra={"job_id": job_id, "error_type": type(exc).__name__})
    else:
        job.status, job.next_attempt_at = "pending", job.updated_at + sms.backoff(job.attempts)
        log.warning("notification job postponed", extra={"job_id": job_id, "attempt": job.attempts,
                                                         "error_type": type(exc).__name__})
    db.commit()


def _plan(identity, kind: str, data: dict, event_id: str) -> list[dict]:
    """The messages to record, worked out with identity's help (RPC only, no database)."""
    sender = branch_name(identity, data.get("branch_id"))
    firm_id = data["firm_id"]
    plan = []
    if kind == "request_opened":
        ids = data.get("approver_user_ids") or []
        for person in identity.contacts(user_ids=ids) if ids else []:
            if person.get("firm_id") != firm_id:
                continue  # never tell anyone outside the firm
            if person.get("email"):
                texts = templates.request_opened_mail(person["name"], data["title"], data["document_type"], sender)
                plan.append({"channel": "email", "sender": sender, "payload": {
                    "firm_id": firm_id, "branch_id": data.get("branch_id"), "to": person["email"],
                    "key": f"approval:{event_id}:email:{person['id']}", **texts}})
            if person.get("mobile"):
                plan.append({"channel": "approval_sms", "payload": {
                    "firm_id": firm_id, "to": person["mobile"], "purpose": "approval_notice", "sender": None,
                    "body": templates.request_opened_sms(data["title"], sender),
                    "key": f"approval:{event_id}:sms:{person['id']}"}})
        return plan
    decision = "approved" if kind == "request_approved" else "declined"
    actor = "De cliënt"
    if data.get("by_user_id"):
        found = identity.contacts(user_ids=[data["by_user_id"]])
        if found and found[0].get("firm_id") == firm_id:
            actor = found[0]["name"]
    for person in identity.staff_contacts(firm_id=firm_id, branch_id=data.get("branch_id")):
        if not person.get("email") or person.get("firm_id") != firm_id:
            continue
        texts = templates.request_decided_mail(person["name"], decision, data["title"], data["document_type"],
                                               data["request_id"], actor, data.get("reason"), sender)
        plan.append({"channel": "email", "sender": sender, "payload": {
            "firm_id": firm_id, "branch_id": data.get("branch_id"), "to": person["email"],
            "key": f"approval:{event_id}:email:{person['id']}", **texts}})
    return plan


def _apply(session, data: dict, plan: list[dict]) -> dict:
    counts = {"email": 0, "sms": 0}
    with_sms = settings.approval_sms_on(session, data["firm_id"])
    backend = carriers.sms_backend_name()
    for item in plan:
        if item["channel"] == "email":
            mail.enqueue(session, item["payload"], item["sender"])
            counts["email"] += 1
        elif with_sms:
            sms.enqueue(session, item["payload"], backend)
            counts["sms"] += 1
    return counts
