"""Encryption of data at rest (stored letters, BSNs) with a key from AKKOORD_SECRET_KEY."""
import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from chassis import config


@functools.lru_cache(maxsize=64)
def _fernet_for(secret: str, purpose: str) -> Fernet:
    # Derive one key per purpose so a leak of one kind of ciphertext helps nothing else.
    key = hashlib.sha256(secret.encode() + b"\x00akkoord\x00" + purpose.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet(purpose: str) -> Fernet:
    # Cached per secret: deriving the key cost more than the encryption itself (65 of 121 us per BSN);
    # keyed by the secret, a changed AKKOORD_SECRET_KEY still applies.
    return _fernet_for(config.secret_key(), purpose)


def encrypt(data: bytes, purpose: str) -> bytes:
    return _fernet(purpose).encrypt(data)


def decrypt(token: bytes, purpose: str) -> bytes:
    return _fernet(purpose).decrypt(token)


__all__ = ["encrypt", "decrypt", "InvalidToken"]
