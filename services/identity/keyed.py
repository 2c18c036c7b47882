"""Keyed hashes for secrets that are long and random (activation codes) or short-lived and
try-limited (SMS codes), and the pepper for PINs: all keyed with AKKOORD_SECRET_KEY, so a
copy of the database alone does not allow guessing them offline."""
import hashlib
import hmac
from functools import lru_cache

from chassis import config


@lru_cache(maxsize=1)
def _key() -> bytes:
    return hashlib.sha256(config.load().secret_key.encode() + b"\x00akkoord\x00identity-keyed").digest()


def digest(purpose: str, value: str) -> str:
    return hmac.new(_key(), f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
