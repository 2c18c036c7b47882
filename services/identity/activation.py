"""Activation codes: random (~80 bits), single use, 14 days, stored as keyed hashes.
The user chooses its own password with one; nobody else ever sees it."""
import datetime as dt

import sqlalchemy as sa

from chassis import secrets
from identity import keyed, sessions
from identity.exceptions import InvalidActivation
from identity.models import ActivationCode, Firm, User
from identity.passwords import hash_new_password

TTL = dt.timedelta(days=14)
INVALID = "Deze activeringscode is onjuist, verlopen of al gebruikt."


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _normal(code: str) -> str:
    return "".join(ch for ch in str(code or "").upper() if ch.isalnum())


def _digest(code: str) -> str:
    return keyed.lookup_digest("activation", _normal(code))


def _candidates(code: str) -> list[str]:
    # during a key rotation a code printed earlier was hashed with an older key (keyed.py)
    return keyed.lookup_candidates("activation", _normal(code))


def issue(session, users: list[User]) -> dict[int, str]:
    """A fresh code per user (earlier unused codes die); returns the clear codes, to print once."""
    if not users:
        return {}
    moment = now()
    ids = [u.id for u in users]
    for start in range(0, len(ids), 5000):
        session.execute(sa.update(ActivationCode).where(ActivationCode.user_id.in_(ids[start:start + 5000]),
                                                        ActivationCode.used_at.is_(None)).values(used_at=moment))
    codes = {u.id: secrets.new_activation_code() for u in users}
    session.execute(sa.insert(ActivationCode), [
        {"user_id": uid, "code_hash": _digest(code), "expires_at": moment + TTL, "used_at": None,
         "created_at": moment} for uid, code in codes.items()])
    return codes


def activate(session, username: str, code: str, password: str) -> User:
    """Set the user's own password with a valid code; throttled per username like a login."""
    key = sessions.throttle_key(username)
    sessions.check_throttle(session, key)
    user = session.scalars(sa.select(User).where(sa.func.lower(User.username) == key).with_for_update()).first()
    record = None
    if user is not None and user.active:
        record = session.scalars(sa.select(ActivationCode).where(
            ActivationCode.user_id == user.id, ActivationCode.code_hash.in_(_candidates(code)),
            ActivationCode.used_at.is_(None), ActivationCode.expires_at > now()).with_for_update()).first()
    if record is None:
        sessions.record_failure(session, key)
        raise InvalidActivation(INVALID, {"field": "activation_code"})
    firm = session.get(Firm, user.firm_id)
    had_password = user.password_hash is not None
    user.password_hash = hash_new_password(password, user.username, firm.name if firm else "")
    record.used_at = now()
    sessions.record_success(session, key)
    if had_password:
        # a new code for a forgotten (or feared known) password: whoever is logged in with the old one is out
        sessions.end_all_sessions(session, user.id)
    return user
