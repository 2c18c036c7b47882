"""SMS: the rules of a send (number, body, sender, limits), idempotency on the key,
and the attempt against the carrier with its status.

A send is written to the table first ("sending"), committed, and only then handed to
the carrier, so a crash never loses a message and a retried RPC (same key) finds the
row instead of sending again. A refused send is recorded as "failed" with the reason
and raises; asking again with the same key gives the same answer.

twilio's status callback URL names our message id: twilio may call back before the attempt
that hears its SID has committed, but the row itself was committed before twilio was asked.
"""
import datetime as dt
import logging
import math
import os
from zoneinfo import ZoneInfo

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from chassis import config, crypto, retry
from chassis.errors import Conflict, Forbidden, NotFound
from notify import carriers
from notify.exceptions import SmsFailed, SmsLimitReached, SmsRefused
from notify.models import FINAL_STATUSES, SmsMessage, SmsSettings

log = logging.getLogger(__name__)

MAX_BODY = 1600
CODES_PER_NUMBER = 5
CODE_WINDOW = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
STALE_SENDING = dt.timedelta(seconds=60)  # an attempt whose process died is picked up again after this
AMBIGUOUS_WAIT = 120  # seconds a notice whose answer we missed waits for twilio's callback before a retry
DEFAULT_DAILY_CAP = 500
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CRYPTO_PURPOSE = "notify-sms"

# Public statuses (SPEC/issue): queued, sent, delivered, failed, undelivered.
_PUBLIC = {"sending": "queued"}
# Twilio's status callback values → ours, and the order a status may only move forward in.
_CALLBACK = {"queued": "queued", "accepted": "queued", "scheduled": "queued", "sending": "sent",
             "sent": "sent", "delivered": "delivered", "undelivered": "undelivered", "failed": "failed",
             "canceled": "failed"}
_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# identity's purposes for codes: "login" (SMS login), "confirm" (approval), "mobile" (new number).
CODE_PURPOSES = {"login", "confirm", "mobile", "approval", "code"}
UNCONFIRMED_NUMBER_PURPOSES = {"mobile"}  # codes to a number being set: still under the firm's daily cap


def is_code(purpose: str) -> bool:
    """Codes (login, approval, mobile confirmation): the 5-per-10-minutes rule applies; notices don't count."""
    purpose = purpose.lower()
    return purpose in CODE_PURPOSES or "code" in purpose


def retry_base() -> float:
    return float(os.environ.get("AKKOORD_NOTIFY_RETRY_BASE", "2"))


def ambiguous_wait() -> dt.timedelta:
    return dt.timedelta(seconds=float(os.environ.get("AKKOORD_NOTIFY_AMBIGUOUS_WAIT", AMBIGUOUS_WAIT)))


def backoff(attempts: int) -> dt.timedelta:
    """2, 4, 8, 16 s (by default) with jitter, capped at 5 minutes."""
    return retry.backoff(attempts, retry_base(), 300.0)


# -- settings ------------------------------------------------------------------------
def settings_for_update(session, firm_id: int) -> SmsSettings:
    """The firm's settings row, locked: sends of one firm are counted one at a time."""
    row = session.execute(sa.select(SmsSettings).where(SmsSettings.firm_id == firm_id)
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                session.add(SmsSettings(firm_id=firm_id, enabled=True, daily_cap=DEFAULT_DAILY_CAP))
        except IntegrityError:
            pass
        row = session.execute(sa.select(SmsSettings).where(SmsSettings.firm_id == firm_id)
                              .with_for_update()).scalar_one()
    return row


_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_number(raw: str) -> str:
    """E.164 for a valid mobile number (Dutch numbers without country code accepted); landlines can't get SMS."""
    try:
        number = phonenumbers.parse(raw, "NL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number) or \
            phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise SmsRefused("Ongeldig mobiel nummer.", {"field": "to", "reason": "invalid_number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _check(session, settings: SmsSettings, data: dict) -> tuple[str, str, str | None]:
    """Raise SmsRefused / SmsLimitReached with the reason, or give (to, body, sender)."""
    if not settings.enabled:
        raise SmsRefused("SMS staat uit voor dit kantoor.", {"reason": "disabled"})
    to = normalise_number(data["to"])
    body = (data["body"] or "").strip()
    if not body:
        raise SmsRefused("Het bericht is leeg.", {"field": "body", "reason": "empty"})
    if len(body) > MAX_BODY:
        raise SmsRefused(f"Het bericht is te lang: {len(body)} tekens, hoogstens {MAX_BODY}.",
                         {"field": "body", "reason": "too_long", "max": MAX_BODY})
    known = [s for s in (settings.sender, config.load().twilio_from) if s]
    sender = settings.sender
    if data.get("sender"):
        match = [s for s in known if s.lower() == data["sender"].lower()]
        if not match:
            raise SmsRefused("Onbekende afzendernaam; gebruik de afzender uit de SMS-instellingen.",
                             {"field": "sender", "reason": "unknown_sender"})
        sender = match[0]
    if is_code(data["purpose"]):
        retry_after = code_retry_after(session, to)
        if retry_after is not None:
            raise SmsLimitReached(
                f"Er zijn al {CODES_PER_NUMBER} codes naar dit nummer gestuurd in de afgelopen 10 minuten. "
                "Probeer het later opnieuw.", {"reason": "codes_per_number", "retry_after": retry_after})
    # The firm's daily cap limits what it chooses to send (notices) and codes to a number nobody has confirmed
    # yet (a new mobile number: anyone with a PIN may name any number). Login and approval codes go to a
    # confirmed number and are what logging in and approving need: a busy day of notices never locks SMS users
    # out; they keep their own limit per number above.
    if (not is_code(data["purpose"]) or data["purpose"].lower() in UNCONFIRMED_NUMBER_PURPOSES) \
            and sent_today(session, settings.firm_id) >= settings.daily_cap:
        raise SmsLimitReached(
            f"Het dagelijkse maximum van {settings.daily_cap} sms-berichten voor dit kantoor is bereikt.",
            {"reason": "daily_cap", "daily_cap": settings.daily_cap})
    return to, body, sender


def code_retry_after(session, to: str) -> int | None:
    """Seconds until this number may get a code again (the oldest code that keeps it at the limit leaves
    the window), or None when it is below the limit."""
    now = utcnow()
    recent = sorted(created for created, purpose in session.execute(
        sa.select(SmsMessage.created_at, SmsMessage.purpose).where(
            SmsMessage.to_number == to, SmsMessage.created_at > now - CODE_WINDOW,
            SmsMessage.status != "failed")) if is_code(purpose))
    if len(recent) < CODES_PER_NUMBER:
        return None
    oldest = recent[len(recent) - CODES_PER_NUMBER]
    return max(1, math.ceil((oldest + CODE_WINDOW - now).total_seconds()))


# -- sending -------------------------------------------------------------------------
def find(session, key: str) -> SmsMessage | None:
    return session.execute(sa.select(SmsMessage).where(SmsMessage.key == key)).scalar_one_or_none()


def view(message: SmsMessage) -> dict:
    return {"message_id": message.id, "status": _PUBLIC.get(message.status, message.status)}


def detail(message: SmsMessage, with_body: bool = False) -> dict:
    result = {"id": message.id, "firm_id": message.firm_id, "to": message.to_number, "sender": message.sender,
              "purpose": message.purpose, "backend": message.backend,
              "status": _PUBLIC.get(message.status, message.status), "attempts": message.attempts,
              "error_code": message.error_code, "error": message.error_message,
              "created_at": message.created_at.isoformat() + "Z",
              "updated_at": message.updated_at.isoformat() + "Z"}
    if with_body:
        result["body"] = _body(message)
    return result


def _body(message: SmsMessage) -> str | None:
    return crypto.decrypt(message.body_enc, CRYPTO_PURPOSE).decode() if message.body_enc else None


def replay(session, message: SmsMessage, firm_id: int) -> dict:
    """The answer to a send whose key was seen before: the same answer, no second SMS."""
    if message.firm_id != firm_id:
        raise Conflict("Deze sleutel is al gebruikt voor een ander bericht.", {"field": "key"})
    if message.status == "failed":
        raise _failure(session, message)
    return view(message)


_FIELDS = {"invalid_number": "to", "empty": "body", "too_long": "body", "unknown_sender": "sender"}


def _failure(session, message: SmsMessage):
    details = {"message_id": message.id, "status": "failed"}
    kind, _, reason = (message.error_code or "").partition(":")
    if reason and kind in (SmsLimitReached.code, SmsRefused.code):
        details["reason"] = reason
        if reason in _FIELDS:
            details["field"] = _FIELDS[reason]
    if reason == "codes_per_number":  # the gateway's Retry-After comes from this
        retry_after = code_retry_after(session, message.to_number)
        if retry_after is not None:
            details["retry_after"] = retry_after
    if kind == SmsLimitReached.code:
        return SmsLimitReached(message.error_message, details)
    if kind == SmsRefused.code:
        return SmsRefused(message.error_message, details)
    return SmsFailed(f"Het sms-bericht kon niet worden verstuurd: {message.error_message}",
                     {**details, "error_code": message.error_code})


def enqueue(session, data: dict, backend: str) -> tuple[SmsMessage, bool]:
    """Check and record one SMS. Gives (message, created). A refusal is recorded as
    failed (created=True) without raising; the caller decides whether to raise."""
    existing = find(session, data["key"])
    if existing is not None:
        return existing, False
    settings = settings_for_update(session, data["firm_id"])
    now = utcnow()
    message = SmsMessage(firm_id=data["firm_id"], key=data["key"], purpose=data["purpose"],
                         backend=backend, attempts=0, created_at=now, updated_at=now)
    try:
        to, body, sender = _check(session, settings, data)
    except (SmsRefused, SmsLimitReached) as exc:
        try:  # normalised where it can be, so a replay can tell how long the number stays at its limit
            message.to_number = normalise_number(data["to"])
        except SmsRefused:
            message.to_number = str(data["to"])[:40]
        message.status = "failed"
        message.error_code = f"{exc.code}:{exc.details.get('reason', '')}"
        message.error_message = exc.message
        log.info("sms refused", extra={"firm_id": data["firm_id"], "reason": exc.details.get("reason")})
    else:
        message.to_number, message.sender, message.length = to, sender, len(body)
        message.body_enc = crypto.encrypt(body.encode(), CRYPTO_PURPOSE)
        message.status = "queued"
        message.next_attempt_at = now
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same key, committed by a concurrent call
        return find(session, data["key"]), False
    return message, True


def attempt(session, message: SmsMessage, carrier, status_callback: str | None, health=None):
    """One try at the carrier; updates status, attempts and the retry time."""
    message.attempts += 1
    callback = f"{status_callback}?message_id={message.id}" if status_callback and carrier.name == "twilio" else None
    outcome = carrier.send(message.to_number, message.sender, _body(message), callback)
    if health is not None:
        health.report(outcome)
    # Read the row again, locked: twilio's callback may have come in while we waited on its answer.
    session.flush()
    session.execute(sa.select(SmsMessage).where(SmsMessage.id == message.id).with_for_update()
                    .execution_options(populate_existing=True)).scalar_one()
    now = utcnow()
    message.updated_at = now
    if message.status not in ("queued", "sending"):
        # twilio's callback was first: twilio has the message, whatever answer we got (or missed)
        message.next_attempt_at = None
        message.body_enc = None
    elif isinstance(outcome, carriers.Accepted):
        message.status = "sent"
        message.provider_sid = outcome.sid
        message.next_attempt_at = None
        message.error_code = message.error_message = None
        if carrier.name != "outbox":
            message.body_enc = None  # delivered to the carrier: keep no copy of a code
    elif isinstance(outcome, carriers.Permanent):
        message.status = "failed"
        message.error_code = f"twilio:{outcome.code}"
        message.error_message = outcome.message or "geweigerd door twilio"
        message.next_attempt_at = None
        message.body_enc = None
    else:
        message.error_message = outcome.message[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            message.error_code = "gave_up"
            message.error_message = f"twilio niet bereikbaar na {message.attempts} pogingen ({outcome.message})"[:500]
            message.next_attempt_at = None
            message.body_enc = None
        elif outcome.ambiguous and not is_code(message.purpose):
            # twilio may have taken it (no idempotency key there): a duplicate notice is worse than a late
            # one, so wait for twilio's callback, which settles it; retry only if none came.
            message.status = "queued"
            message.next_attempt_at = now + ambiguous_wait()
        else:  # a code is retried at once: its user is waiting, and the same code twice does no harm
            message.status = "queued"
            message.next_attempt_at = now + backoff(message.attempts)
    log.info("sms attempt", extra={"message_id": message.id, "status": message.status,
                                   "attempt": message.attempts, "error_code": message.error_code})
    return message


def send(db, data: dict, status_callback: str | None, health=None) -> dict:
    """The send_sms RPC: record, commit, one attempt now; retries happen in the background.
    While the carrier is known to be down the message is only queued (see carriers.CarrierHealth)."""
    backend = carriers.sms_backend_name()
    message, created = enqueue(db.session, data, backend)
    if not created:
        return replay(db.session, message, data["firm_id"])
    if message.status == "failed":
        db.commit()  # keep the refusal on record, then say why
        raise _failure(db.session, message)
    if health is not None and backend == "twilio" and health.is_down():
        db.commit()
        return view(message)
    message.status = "sending"
    db.commit()
    attempt(db.session, message, carriers.carrier_for(backend), status_callback, health)
    db.commit()
    if message.status == "failed":
        raise _failure(db.session, message)
    return view(message)


def claim_due(session, limit: int = 20) -> list[int]:
    """Messages whose retry time has come (or whose attempt died with its process)."""
    now = utcnow()
    query = (sa.select(SmsMessage).where(sa.or_(
        sa.and_(SmsMessage.status == "queued", SmsMessage.next_attempt_at <= now),
        sa.and_(SmsMessage.status == "sending", SmsMessage.updated_at < now - STALE_SENDING)))
        .order_by(SmsMessage.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    rows = session.execute(query).scalars().all()
    for row in rows:
        row.status, row.updated_at = "sending", now
    return [row.id for row in rows]


def deliver(db, message_ids: list[int], status_callback: str | None, health=None):
    """Attempt the claimed messages one by one. When the carrier fails transiently the pass stops
    and hands the rest back untouched: a carrier that is down gets one probe per pass, not a storm."""
    for index, message_id in enumerate(message_ids):
        message = db.session.get(SmsMessage, message_id)
        if message is None or message.status != "sending":
            continue
        try:
            attempt(db.session, message, carriers.carrier_for(message.backend), status_callback, health)
        except Exception:
            log.exception("sms attempt crashed", extra={"message_id": message_id})
            if message.attempts >= MAX_ATTEMPTS:
                message.status, message.next_attempt_at = "failed", None
                message.error_code, message.error_message = "internal", "interne fout bij versturen"
            else:
                message.status, message.next_attempt_at = "queued", utcnow() + backoff(max(1, message.attempts))
        db.commit()
        if message.backend == "twilio" and message.status == "queued":  # transient: carrier in trouble
            rest = message_ids[index + 1:]
            if rest:
                db.session.execute(sa.update(SmsMessage).where(SmsMessage.id.in_(rest),
                                                               SmsMessage.status == "sending")
                                   .values(status="queued"))
                db.commit()
            return


def record_status(session, data: dict) -> dict:
    """twilio's status callback (signature checked by the gateway): move the status forward only.
    Found by our message id from the callback URL (the SID may not be committed yet); by SID for
    callbacks of messages sent before the URL carried the id."""
    sid = data["MessageSid"]
    query = sa.select(SmsMessage).where(SmsMessage.id == data["message_id"]) \
        if data.get("message_id") is not None else sa.select(SmsMessage).where(SmsMessage.provider_sid == sid)
    message = session.execute(query.with_for_update()).scalar_one_or_none()
    if message is None or message.backend != "twilio":
        raise NotFound("Onbekend bericht.", {"sid": sid})
    if message.provider_sid is not None and message.provider_sid != sid:
        # an earlier attempt whose answer we missed went out too: keep following the one we heard of
        log.warning("sms sent twice", extra={"message_id": message.id})
        return view(message)
    new = _CALLBACK.get(data["MessageStatus"].lower())
    if new is None:
        return view(message)
    if message.status in ("queued", "sending") or message.error_code == "gave_up":
        # twilio has it, even if our attempt is still waiting for (or missed) twilio's answer: no retry
        if message.status == "failed":
            message.status = "sent"  # we gave up on answers we missed, but twilio had taken it
        message.provider_sid = sid
        message.next_attempt_at = None
        message.error_code = message.error_message = None
        message.body_enc = None
        if _RANK[new] < _RANK["sent"]:
            new = "sent"
    if message.status not in FINAL_STATUSES and _RANK[new] > _RANK[message.status]:
        message.status = new
        message.updated_at = utcnow()
        if new in ("failed", "undelivered"):
            message.error_code = f"twilio:{data.get('ErrorCode') or 'unknown'}"
            message.error_message = (data.get("ErrorMessage") or "niet afgeleverd")[:500]
    return view(message)


def get(session, message_id: int) -> dict:
    message = session.get(SmsMessage, message_id)
    if message is None:
        raise NotFound("Onbekend bericht.", {"message_id": message_id})
    return detail(message)


def list_for_firm(session, principal, page: int, per_page: int, status: str | None) -> dict:
    """The firm's messages with their status (no bodies): staff with firm-wide Beheer see what failed and why
    (messages carry no branch, so a branch's Beheer would read the numbers texted for other branches)."""
    principal.require_staff("admin")
    if not principal.firm_wide:
        raise Forbidden("Alleen kantoorbrede beheerders zien de verstuurde sms-berichten van het kantoor.")
    query = sa.select(SmsMessage).where(SmsMessage.firm_id == principal.firm_id)
    if status:
        query = query.where(SmsMessage.status.in_(["queued", "sending"] if status == "queued" else [status]))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(SmsMessage.id.desc()).offset((page - 1) * per_page)
                           .limit(per_page)).scalars().all()
    return {"items": [detail(row) for row in rows], "total": total}


def outbox_page(session, limit: int = 100) -> list[dict]:
    rows = session.execute(sa.select(SmsMessage).where(SmsMessage.backend == "outbox")
                           .order_by(SmsMessage.id.desc()).limit(limit)).scalars().all()
    return [detail(row, with_body=True) for row in rows]


def sent_today(session, firm_id: int) -> int:
    local_midnight = dt.datetime.now(AMSTERDAM).replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = local_midnight.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return session.scalar(sa.select(sa.func.count()).select_from(SmsMessage).where(
        SmsMessage.firm_id == firm_id, SmsMessage.created_at >= day_start, SmsMessage.status != "failed"))
