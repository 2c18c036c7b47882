"""Secrets at rest: argon2id for what people type, SHA-256 for high-entropy tokens."""
import hashlib
import hmac
import secrets as _random

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# RFC 9106's second recommended option (64 MiB, 3 passes), one lane per core here.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
# PINs and codes are short-lived and numerous (bulk PIN issue): a cheaper argon2id.
_code_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_code(code: str, salt: bytes | None = None) -> str:
    """``salt``: the caller's own (identity's PINs start theirs with the tag of the key that peppered them);
    by default argon2-cffi's random 16 bytes."""
    return _code_hasher.hash(code, salt=salt) if salt is not None else _code_hasher.hash(code)


def verify_code(stored_hash: str, code: str) -> bool:
    try:
        return _code_hasher.verify(stored_hash, code)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of a real check, so an unknown user answers like a wrong password."""
    verify_password(_DUMMY_HASH, password)


def new_token() -> str:
    """A bearer token of 256 random bits."""
    return _random.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are random and long, so a fast hash is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_digits(length: int) -> str:
    return "".join(_random.choice("0123456789") for _ in range(length))


def new_activation_code() -> str:
    # Unambiguous letters for a code people type from paper: 4 groups of 4 (~80 bits).
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(_random.choice(alphabet) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


_DUMMY_HASH = hash_password("dummy password for timing")
