"""Approval PINs: random, at least 6 digits, peppered and argon2id-hashed; 10 wrong tries lock the PIN
until staff reissue it. Bulk issue hashes in OS threads (argon2-cffi releases the GIL)."""
import datetime as dt
import os

import eventlet
from eventlet import tpool

from chassis import secrets
from identity import keyed
from identity.exceptions import NoPin, PinLocked, WrongPin
from identity.models import User

PIN_LENGTH = 6
MAX_FAILURES = 10
HASH_CONCURRENCY = max(2, (os.cpu_count() or 2))


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _peppered(pin: str) -> str:
    return keyed.digest("pin", pin)


def hash_pin(pin: str) -> str:
    return secrets.hash_code(_peppered(pin))


def hash_pins(pins: list[str]) -> list[str]:
    """Hash many PINs side by side in real threads, without blocking the eventlet hub."""
    pool = eventlet.GreenPool(HASH_CONCURRENCY)
    return list(pool.imap(lambda pin: tpool.execute(hash_pin, pin), pins))


def new_pin() -> str:
    return secrets.new_digits(PIN_LENGTH)


def set_pins(users: list[User]) -> dict[int, str]:
    """A fresh PIN per user (the old one stops working, a lock is lifted); returns the clear PINs."""
    clear = {u.id: new_pin() for u in users}
    hashes = hash_pins([clear[u.id] for u in users])
    moment = now()
    for user, pin_hash in zip(users, hashes):
        user.pin_hash = pin_hash
        user.pin_failures = 0
        user.pin_issued_at = moment
    return clear


def clear_pin(user: User) -> None:
    """No PIN any more (the user confirms by SMS): the hash, its failures and its date go."""
    user.pin_hash = None
    user.pin_failures = 0
    user.pin_issued_at = None


def check_pin(session, user: User, pin: str) -> bool:
    """True for the right PIN; raises WrongPin / PinLocked / NoPin otherwise. Failures are committed."""
    if not user.pin_hash:
        raise NoPin("U heeft nog geen PIN-code; vraag uw kantoor om een PIN-brief.", {"field": "pin"})
    if user.pin_failures >= MAX_FAILURES:
        raise PinLocked("Uw PIN-code is geblokkeerd na te veel foute pogingen; vraag uw kantoor om een nieuwe.",
                        {"field": "pin"})
    ok = bool(pin) and tpool.execute(secrets.verify_code, user.pin_hash, _peppered(str(pin)))
    if ok:
        if user.pin_failures:
            user.pin_failures = 0
        return True
    user.pin_failures += 1
    left = MAX_FAILURES - user.pin_failures
    session.commit()  # the failure counts even though we raise
    if left <= 0:
        raise PinLocked("Uw PIN-code is geblokkeerd na te veel foute pogingen; vraag uw kantoor om een nieuwe.",
                        {"field": "pin"})
    raise WrongPin("De PIN-code is onjuist.", {"field": "pin", "attempts_left": left})
