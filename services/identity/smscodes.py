"""SMS codes: 6 digits, 10 minutes, single use, dead after 5 wrong tries, stored as keyed hashes.

A code belongs to one challenge: a login, an approval confirmation bound to
{request_id, sha256} of the document, or a new mobile number.
"""
import datetime as dt
import hashlib
import json
import logging
import uuid

import sqlalchemy as sa
from nameko.exceptions import RemoteError, UnknownService

from chassis import secrets
from chassis.errors import AkkoordError, Unavailable
from identity import keyed
from identity.exceptions import CodeExpired, MobileRequired, SmsFailed, SmsLimitReached, WrongCode
from identity.models import SmsChallenge, User

log = logging.getLogger(__name__)

CODE_LENGTH = 6
TTL = dt.timedelta(minutes=10)
MAX_TRIES = 5


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def binding_digest(binding: dict) -> str:
    canonical = json.dumps({"request_id": str(binding["request_id"]), "sha256": str(binding["sha256"]).lower()},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _code_digest(challenge_id: str, code: str) -> str:
    return keyed.digest("sms:" + challenge_id, code)


def _matches(challenge: SmsChallenge, code: str) -> bool:
    """Whether ``code`` is the challenge's, under any configured key: a code sent just before a key rotation
    stays good for its 10 minutes. Every candidate is compared, so the time taken tells nothing."""
    found = [secrets.constant_time_equal(candidate, challenge.code_hash)
             for candidate in keyed.digests("sms:" + challenge.id, code)]
    return any(found)


def create(session, user: User, purpose: str, binding: str | None = None, mobile: str | None = None):
    """A new challenge (earlier open ones for the same purpose and binding die); returns (challenge, code)."""
    moment = now()
    session.execute(sa.update(SmsChallenge).where(
        SmsChallenge.user_id == user.id, SmsChallenge.purpose == purpose, SmsChallenge.used_at.is_(None),
        (SmsChallenge.binding == binding) if binding else sa.true()).values(used_at=moment))
    challenge_id = str(uuid.uuid4())
    code = secrets.new_digits(CODE_LENGTH)
    challenge = SmsChallenge(id=challenge_id, user_id=user.id, purpose=purpose, binding=binding,
                             code_hash=_code_digest(challenge_id, code), mobile=mobile, failures=0,
                             expires_at=moment + TTL, created_at=moment)
    session.add(challenge)
    session.flush()
    return challenge, code


def verify(session, challenge: SmsChallenge | None, code: str) -> SmsChallenge:
    """Use the challenge's code once; failures are committed before raising."""
    moment = now()
    if (challenge is None or challenge.used_at is not None or challenge.expires_at <= moment
            or challenge.failures >= MAX_TRIES):
        raise CodeExpired("Deze code is verlopen of al gebruikt; vraag een nieuwe code aan.", {"field": "code"})
    if code and _matches(challenge, str(code).strip()):
        challenge.used_at = moment
        return challenge
    challenge.failures += 1
    left = MAX_TRIES - challenge.failures
    if left <= 0:
        challenge.used_at = moment
    session.commit()
    if left <= 0:
        raise CodeExpired("Te veel foute pogingen; vraag een nieuwe code aan.", {"field": "code"})
    raise WrongCode("De code is onjuist.", {"field": "code", "attempts_left": left})


def open_challenge(session, user_id: int, purpose: str, binding: str | None = None,
                   challenge_id: str | None = None) -> SmsChallenge | None:
    query = sa.select(SmsChallenge).where(SmsChallenge.user_id == user_id, SmsChallenge.purpose == purpose)
    if binding is not None:
        query = query.where(SmsChallenge.binding == binding)
    if challenge_id is not None:
        query = query.where(SmsChallenge.id == challenge_id)
    return session.scalars(query.order_by(SmsChallenge.created_at.desc()).limit(1).with_for_update()).first()


def send(notify, firm_id: int, to: str | None, body: str, key: str, purpose: str) -> dict:
    """Hand one SMS to notify (send_sms contract); its refusal or absence becomes a clear error."""
    if not to:
        raise MobileRequired("Er is geen mobiel nummer bekend; vraag uw kantoor dit in te stellen.",
                             {"field": "mobile"})
    try:
        return notify.send_sms({"firm_id": firm_id, "to": to, "body": body, "key": key, "purpose": purpose})
    except (UnknownService, Unavailable):
        log.warning("notify unavailable for sms", extra={"purpose": purpose})
        raise SmsFailed("De sms kon nu niet worden verstuurd; probeer het later opnieuw.", {"field": "mobile"})
    except (RemoteError, AkkoordError) as exc:
        kind = getattr(exc, "exc_type", type(exc).__name__)
        log.warning("sms refused", extra={"purpose": purpose, "exc_type": kind})
        if isinstance(exc, AkkoordError) and kind == "SmsLimitReached":
            # too many codes to this number: notify's "try later" and retry_after, as identity's own 429
            raise SmsLimitReached(exc.message, exc.details) from None
        raise SmsFailed("De sms is geweigerd; controleer het mobiele nummer of de sms-instellingen.",
                        {"field": "mobile"})


def code_text(code: str, what: str) -> str:
    return f"Uw code voor {what} is {code}. De code is 10 minuten geldig. Deel deze code met niemand."
