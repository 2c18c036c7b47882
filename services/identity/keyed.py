"""Keyed hashes for secrets that are long and random (activation codes) or short-lived and
try-limited (SMS codes), and the pepper for PINs: all keyed with AKKOORD_SECRET_KEY, so a
copy of the database alone does not allow guessing them offline.

Key rotation: new digests are always made with AKKOORD_SECRET_KEY; while older keys are listed in
AKKOORD_SECRET_KEY_PREVIOUS, digests made with them are still recognised. Only the holder knows a PIN
or a code, so what was made with an older key cannot be re-made: PINs are re-hashed when used (pins.py),
codes end when used or expired; ``akkoord rotate-secret-key`` counts those still waiting.
"""
import hashlib
import hmac
from functools import lru_cache
from typing import NamedTuple

from chassis import config

# A tagged lookup digest: the key's tag in 8 hex characters, then 56 of the HMAC's 64 (224 bits).
TAG_HEX = 8


class Key(NamedTuple):
    secret: bytes  # the HMAC key
    tag: bytes  # 8 bytes naming the key in what was made with it; an HMAC output, it tells nothing of the key


@lru_cache(maxsize=16)
def _key_for(secret: str) -> Key:
    key = hashlib.sha256(secret.encode() + b"\x00akkoord\x00identity-keyed").digest()
    return Key(key, hmac.new(key, b"akkoord key tag", hashlib.sha256).digest()[:8])


@lru_cache(maxsize=16)
def _keys_for(secret: str, previous: tuple[str, ...]) -> tuple[Key, ...]:
    return tuple(dict.fromkeys(_key_for(s) for s in (secret, *previous)))


def current() -> Key:
    # read from the environment every time (cached per secret), so a changed key applies as in chassis.crypto
    return _key_for(config.secret_key())


def keys() -> tuple[Key, ...]:
    """Every key a stored digest may have been made with, the current one first."""
    return _keys_for(config.secret_key(), config.previous_secret_keys())


def rotating() -> bool:
    return len(keys()) > 1


def digest(purpose: str, value: str, key: Key | None = None) -> str:
    return hmac.new((key or current()).secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def digests(purpose: str, value: str) -> list[str]:
    """The digest of ``value`` under every configured key, the current one first."""
    return [digest(purpose, value, key) for key in keys()]


def _tagged(key: Key, plain: str) -> str:
    return key.tag.hex()[:TAG_HEX] + plain[:64 - TAG_HEX]


def lookup_digest(purpose: str, value: str) -> str:
    """The digest to store for a value that is later found by its digest (activation codes).

    While a rotation is under way it starts with the current key's tag, so the codes still made with an older
    key can be counted. Otherwise it is the plain digest that releases before key rotation make and look for:
    their pods keep finding codes issued by this release during an upgrade and after a roll-back."""
    key = current()
    plain = digest(purpose, value, key)
    return _tagged(key, plain) if rotating() else plain


def lookup_candidates(purpose: str, value: str) -> list[str]:
    """Every form ``lookup_digest`` may have stored ``value`` in, under every configured key."""
    found = []
    for key in keys():
        plain = digest(purpose, value, key)
        found += [plain, _tagged(key, plain)]
    return found


def current_tag_prefix() -> str:
    """What a lookup digest tagged with the current key starts with."""
    return current().tag.hex()[:TAG_HEX]
