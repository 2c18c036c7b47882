"""Approval PINs: random, at least 6 digits, peppered and argon2id-hashed; 10 wrong tries lock the PIN
until staff reissue it. Bulk issue hashes in OS threads (argon2-cffi releases the GIL).

The pepper is keyed (identity.keyed). The argon2 salt starts with the tag of the key that peppered the hash,
so during a key rotation a PIN is verified with that key only, and the PINs still under an older key can be
counted; a PIN that verifies with an older key is re-hashed with the current one on the spot."""
import base64
import binascii
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


def _peppered(pin: str, key: keyed.Key) -> str:
    return keyed.digest("pin", pin, key)


def hash_pin(pin: str, key: keyed.Key | None = None) -> str:
    key = key or keyed.current()
    # argon2 (also in releases before key rotation) treats the tagged salt as any other salt; 16 random
    # bytes follow the tag, as many as argon2-cffi's own salts.
    return secrets.hash_code(_peppered(pin, key), salt=key.tag + os.urandom(16))


def key_tag(pin_hash: str) -> bytes | None:
    """The tag of the key that peppered ``pin_hash``; None for a hash from before key rotation."""
    parts = pin_hash.split("$")  # $argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>
    if len(parts) != 6:
        return None
    try:
        salt = base64.b64decode(parts[4] + "=" * (-len(parts[4]) % 4))
    except (binascii.Error, ValueError):
        return None
    return salt[:8] if len(salt) == 24 else None


def _verifying_key(pin_hash: str, pin: str, configured: tuple[keyed.Key, ...]) -> keyed.Key | None:
    """The key whose pepper makes ``pin`` match, or None. A hash that names a configured key is tried with it
    alone (one argon2 run, as before rotation); an older hash with each key, the current one first."""
    tag = key_tag(pin_hash)
    for key in [k for k in configured if k.tag == tag] or configured:
        if secrets.verify_code(pin_hash, _peppered(pin, key)):
            return key
    return None


def hash_pins(pins: list[str]) -> list[str]:
    """Hash many PINs side by side in real threads, without blocking the eventlet hub."""
    pool = eventlet.GreenPool(HASH_CONCURRENCY)
    key = keyed.current()
    return list(pool.imap(lambda pin: tpool.execute(hash_pin, pin, key), pins))


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
    configured = keyed.keys()
    key = tpool.execute(_verifying_key, user.pin_hash, str(pin), configured) if pin else None
    if key is not None:
        current = configured[0]
        if key != current:
            # peppered with an older key: now that the PIN is at hand, re-hash it with the current one (as a
            # password is re-hashed at login), committed with this confirmation, so PINs move as they are used
            user.pin_hash = tpool.execute(hash_pin, str(pin), current)
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
