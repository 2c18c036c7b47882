"""Encryption of data at rest (stored letters, BSNs) with a key from AKKOORD_SECRET_KEY."""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from chassis import config


def _fernet(purpose: str) -> Fernet:
    # Derive one key per purpose so a leak of one kind of ciphertext helps nothing else.
    secret = config.load().secret_key.encode()
    key = hashlib.sha256(secret + b"\x00akkoord\x00" + purpose.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(data: bytes, purpose: str) -> bytes:
    return _fernet(purpose).encrypt(data)


def decrypt(token: bytes, purpose: str) -> bytes:
    return _fernet(purpose).decrypt(token)


__all__ = ["encrypt", "decrypt", "InvalidToken"]
