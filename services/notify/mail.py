"""E-mail: checked, recorded, then sent over SMTP with the standard library.

Configuration (environment): ``AKKOORD_SMTP_HOST`` (unset: the ``outbox`` backend —
stored and shown on the gateway's /dev/mail page), ``AKKOORD_SMTP_PORT`` (25),
``AKKOORD_SMTP_USER``/``AKKOORD_SMTP_PASSWORD`` (optional, with STARTTLS when
``AKKOORD_SMTP_STARTTLS=1``), ``AKKOORD_MAIL_FROM`` (the address; the display name is
the branch's name). Same reliability as SMS: idempotent on the key, recorded before
the attempt, transient SMTP failures retried with backoff, permanent ones (5xx) failed.

A mail that carries a secret identity has not yet committed (``hold``) waits unsent as ``held`` until
identity confirms it through its outbox (``mails_confirmed``); one never confirmed within
``AKKOORD_UNCONFIRMED_HOURS`` (the change rolled back) is discarded unsent, its body deleted.
"""
import datetime as dt
import html as html_lib
import logging
import os
import re
import smtplib
from email.message import EmailMessage as MimeMessage
from email.utils import formataddr, formatdate, make_msgid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from chassis import crypto
from chassis.config import unconfirmed_hours
from chassis.errors import Conflict, NotFound
from notify.exceptions import EmailFailed, EmailRefused
from notify.models import EmailMessage
from notify.sms import MAX_ATTEMPTS, STALE_SENDING, backoff, utcnow

log = logging.getLogger(__name__)

CRYPTO_PURPOSE = "notify-mail"
SMTP_TIMEOUT = 10.0
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_PUBLIC = {"sending": "queued"}


def backend_name() -> str:
    return "smtp" if os.environ.get("AKKOORD_SMTP_HOST") else "outbox"


def mail_from() -> str:
    return os.environ.get("AKKOORD_MAIL_FROM", "noreply@akkoord.example")


def _enc(text: str | None) -> bytes | None:
    return crypto.encrypt(text.encode(), CRYPTO_PURPOSE) if text else None


def _dec(blob: bytes | None) -> str | None:
    return crypto.decrypt(blob, CRYPTO_PURPOSE).decode() if blob else None


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>", "\n", markup)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _check(data: dict) -> tuple[str, str, str, str | None]:
    to = (data["to"] or "").strip()
    if not _ADDRESS.match(to):
        raise EmailRefused("Ongeldig e-mailadres.", {"field": "to", "reason": "invalid_address"})
    subject = (data["subject"] or "").strip()
    if not subject or "\n" in subject or "\r" in subject:
        raise EmailRefused("Het onderwerp is leeg of ongeldig.", {"field": "subject", "reason": "invalid_subject"})
    text, markup = (data.get("text") or "").strip(), data.get("html") or None
    if not text and markup:
        text = html_to_text(markup)
    if not text:
        raise EmailRefused("Het bericht is leeg.", {"field": "text", "reason": "empty"})
    return to, subject, text, markup


def find(session, key: str) -> EmailMessage | None:
    return session.execute(sa.select(EmailMessage).where(EmailMessage.key == key)).scalar_one_or_none()


def view(message: EmailMessage) -> dict:
    return {"message_id": message.id, "status": _PUBLIC.get(message.status, message.status)}


def detail(message: EmailMessage, with_body: bool = False) -> dict:
    result = {"id": message.id, "firm_id": message.firm_id, "branch_id": message.branch_id,
              "to": message.to_address, "sender_name": message.sender_name, "subject": message.subject,
              "backend": message.backend, "status": _PUBLIC.get(message.status, message.status),
              "attempts": message.attempts, "error": message.error_message,
              "created_at": message.created_at.isoformat() + "Z"}
    if with_body:
        result["text"], result["html"] = _dec(message.text_enc), _dec(message.html_enc)
    return result


def enqueue(session, data: dict, sender_name: str | None, backend: str | None = None):
    """Record one e-mail. Gives (message, created); a refusal is recorded as failed."""
    existing = find(session, data["key"])
    if existing is not None:
        return existing, False
    now = utcnow()
    sender_name = " ".join((sender_name or "akkoord").split())  # no line breaks into the From header
    message = EmailMessage(firm_id=data.get("firm_id"), branch_id=data.get("branch_id"), key=data["key"],
                           sender_name=sender_name[:200], backend=backend or backend_name(),
                           attempts=0, created_at=now, updated_at=now)
    try:
        to, subject, text, markup = _check(data)
    except EmailRefused as exc:
        message.to_address, message.subject = str(data["to"])[:254], str(data["subject"])[:300]
        message.status, message.error_message = "failed", exc.message
    else:
        message.to_address, message.subject = to, subject
        message.text_enc, message.html_enc = _enc(text), _enc(markup)
        if data.get("hold"):
            message.status = "held"
        elif message.backend == "outbox":
            message.status = "sent"  # kept for the developer page; nothing leaves the machine
        else:
            message.status, message.next_attempt_at = "queued", now
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return find(session, data["key"]), False
    return message, True


def _same_sender(message: EmailMessage, data: dict, **details):
    """A key already used: only the same firm's repeat of its own request gets the recorded answer."""
    if message.firm_id != data.get("firm_id"):
        raise Conflict("Deze sleutel is al gebruikt voor een ander bericht.", {"field": "key", **details})


def replay(message: EmailMessage, data: dict) -> dict:
    _same_sender(message, data)
    if message.status == "failed":
        raise _failure(message)
    return view(message)


def _failure(message: EmailMessage):
    if message.attempts == 0:
        return EmailRefused(message.error_message, {"message_id": message.id, "status": "failed"})
    return EmailFailed(f"De e-mail kon niet worden verstuurd: {message.error_message}",
                       {"message_id": message.id, "status": "failed"})


def build(message: EmailMessage) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = formataddr((message.sender_name or "akkoord", mail_from()))
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = make_msgid(domain=mail_from().split("@")[-1])
    mime.set_content(_dec(message.text_enc) or "")
    markup = _dec(message.html_enc)
    if markup:
        mime.add_alternative(markup, subtype="html")
    return mime


def _smtp_send(mime: MimeMessage):
    host = os.environ["AKKOORD_SMTP_HOST"]
    port = int(os.environ.get("AKKOORD_SMTP_PORT", "25"))
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
        if os.environ.get("AKKOORD_SMTP_STARTTLS") == "1":
            smtp.starttls()
        user = os.environ.get("AKKOORD_SMTP_USER")
        if user:
            smtp.login(user, os.environ.get("AKKOORD_SMTP_PASSWORD", ""))
        smtp.send_message(mime)


def _deliver_once(message: EmailMessage) -> tuple[bool, str] | None:
    """Hand the message to the SMTP server: None when accepted, else (permanent?, reason)."""
    try:
        mime = build(message)
    except Exception as exc:  # a message we cannot even build will never go: permanent
        return True, f"bericht ongeldig: {type(exc).__name__}"
    try:
        _smtp_send(mime)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return all(code >= 500 for code in codes), f"ontvanger geweigerd ({', '.join(str(c) for c in codes)})"
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code >= 500, f"SMTP {exc.smtp_code}"
    except (smtplib.SMTPException, OSError) as exc:
        return False, f"mailserver onbereikbaar: {type(exc).__name__}"
    return None


def attempt(message: EmailMessage):
    message.attempts += 1
    now = message.updated_at = utcnow()
    failure = _deliver_once(message)
    if failure is None:
        message.status, message.next_attempt_at, message.error_message = "sent", None, None
        message.text_enc = message.html_enc = None  # handed over; keep no copy of what it carried
        log.info("email sent", extra={"message_id": message.id, "attempt": message.attempts})
        return message
    permanent, error = failure
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.status, message.next_attempt_at = "failed", None
        message.error_message = error if permanent else f"{error}; opgegeven na {message.attempts} pogingen"
        message.text_enc = message.html_enc = None
    else:
        message.status, message.next_attempt_at, message.error_message = "queued", now + backoff(message.attempts), error
    log.info("email attempt failed", extra={"message_id": message.id, "status": message.status,
                                            "attempt": message.attempts})
    return message


def send(db, data: dict, sender_name: str | None) -> dict:
    """The send_email RPC: record, commit, one attempt now; retries in the background."""
    message, created = enqueue(db.session, data, sender_name)
    if not created:
        return replay(message, data)
    if message.status == "failed":
        db.commit()
        raise _failure(message)
    if message.status == "queued":
        message.status = "sending"
        db.commit()
        attempt(message)
    db.commit()
    if message.status == "failed":
        raise _failure(message)
    return view(message)


DISCARDED = "niet verstuurd: de wijziging waar dit bericht bij hoort is niet doorgevoerd"


def confirm(session, keys: list[str]) -> list[int]:
    """identity committed the change behind these held mails: they go out (the delivery pass sends them).
    Gives the ids that were waiting (a redelivered confirmation finds none)."""
    rows = session.execute(sa.select(EmailMessage).where(EmailMessage.key.in_(keys))
                           .with_for_update()).scalars().all()
    now, confirmed = utcnow(), []
    for message in rows:
        if message.status == "held":
            # the outbox backend only keeps it for the developer page: "sent" is all there is to do
            message.status = "sent" if message.backend == "outbox" else "queued"
            message.next_attempt_at, message.updated_at = (None if message.backend == "outbox" else now), now
            confirmed.append(message.id)
        elif message.status == "failed" and message.error_message == DISCARDED:
            log.error("confirmation for a discarded mail", extra={"message_id": message.id})
    if len(rows) < len(set(keys)):
        log.error("confirmation for unknown mails", extra={"count": len(set(keys)) - len(rows)})
    if confirmed:
        log.info("mails confirmed", extra={"message_ids": confirmed})
    return confirmed


def discard_unconfirmed(session, now=None, hours: float | None = None) -> int:
    """Held mails whose change never committed: failed unsent, their bodies (with the secret) deleted."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(hours=unconfirmed_hours() if hours is None else hours)
    rows = session.execute(sa.select(EmailMessage).where(EmailMessage.status == "held",
                                                         EmailMessage.created_at < cutoff)
                           .with_for_update(skip_locked=True)).scalars().all()
    for message in rows:
        message.status, message.error_message, message.updated_at = "failed", DISCARDED, now
        message.text_enc = message.html_enc = None
    if rows:
        log.warning("unconfirmed mails discarded", extra={"message_ids": [m.id for m in rows]})
    return len(rows)


def send_many(db, items: list[dict], sender_names: dict) -> list[dict]:
    """The send_emails RPC: many mails recorded in one transaction (a bulk of activation mails). Each answer is
    ``{key, message_id, status}``, with ``error`` for a mail refused (bad address): the caller decides what
    reaches that person instead. Mails that are not held go out in the delivery pass."""
    answers = []
    for data in items:
        message, created = enqueue(db.session, data, sender_names.get(data.get("branch_id")))
        if not created:
            _same_sender(message, data, key=data["key"])  # which of the batch's keys
        answer = {"key": data["key"], **view(message)}
        if message.status == "failed":
            answer["error"] = message.error_message
        answers.append(answer)
    db.commit()
    return answers


def claim_due(session, limit: int = 20) -> list[int]:
    now = utcnow()
    rows = session.execute(sa.select(EmailMessage).where(sa.or_(
        sa.and_(EmailMessage.status == "queued", EmailMessage.next_attempt_at <= now),
        sa.and_(EmailMessage.status == "sending", EmailMessage.updated_at < now - STALE_SENDING)))
        .order_by(EmailMessage.next_attempt_at).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    for row in rows:
        row.status, row.updated_at = "sending", now
    return [row.id for row in rows]


def deliver(db, message_ids: list[int]):
    for message_id in message_ids:
        message = db.session.get(EmailMessage, message_id)
        if message is None or message.status != "sending":
            continue
        if message.backend == "outbox":
            message.status = "sent"
        else:
            try:
                attempt(message)
            except Exception:
                log.exception("email attempt crashed", extra={"message_id": message_id})
                if message.attempts >= MAX_ATTEMPTS:
                    message.status, message.next_attempt_at = "failed", None
                    message.error_message = "interne fout bij versturen"
                else:
                    message.status = "queued"
                    message.next_attempt_at = utcnow() + backoff(max(1, message.attempts))
        db.commit()


def get(session, message_id: int) -> dict:
    message = session.get(EmailMessage, message_id)
    if message is None:
        raise NotFound("Onbekend bericht.", {"message_id": message_id})
    return detail(message)


def outbox_page(session, limit: int = 100) -> list[dict]:
    # a held mail is not sent (yet, or ever): its code may belong to a change that rolled back
    rows = session.execute(sa.select(EmailMessage).where(EmailMessage.backend == "outbox",
                                                         EmailMessage.status != "held")
                           .order_by(EmailMessage.id.desc()).limit(limit)).scalars().all()
    return [detail(row, with_body=True) for row in rows]

