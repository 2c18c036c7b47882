"""Encryption of data at rest (stored letters, BSNs, message bodies, uploads) with a key from AKKOORD_SECRET_KEY.

Key rotation: new data is always encrypted with AKKOORD_SECRET_KEY; while older keys are listed in
AKKOORD_SECRET_KEY_PREVIOUS they still decrypt, and ``akkoord rotate-secret-key`` re-encrypts what they
made (``rotate``, ``rekey_table``) so they can be dropped (docs/deploy.md).
"""
import base64
import functools
import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from chassis import config


@functools.lru_cache(maxsize=64)
def _fernet_for(secret: str, purpose: str) -> Fernet:
    # Derive one key per purpose so a leak of one kind of ciphertext helps nothing else.
    key = hashlib.sha256(secret.encode() + b"\x00akkoord\x00" + purpose.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


@functools.lru_cache(maxsize=64)
def _multi_for(secret: str, previous: tuple[str, ...], purpose: str) -> MultiFernet:
    # The current key first: MultiFernet encrypts (and rotates) with the first key, decrypts with any.
    return MultiFernet([_fernet_for(key, purpose) for key in dict.fromkeys((secret, *previous))])


def _fernet(purpose: str) -> Fernet:
    # Cached per secret: deriving the key cost more than the encryption itself (65 of 121 us per BSN);
    # keyed by the secret, a changed AKKOORD_SECRET_KEY still applies.
    return _fernet_for(config.secret_key(), purpose)


def encrypt(data: bytes, purpose: str) -> bytes:
    return _fernet(purpose).encrypt(data)


def decrypt(token: bytes, purpose: str) -> bytes:
    # The current key first, on its own: a token made with it (all of them, outside a rotation) costs what
    # it did before key rotation; the previous keys are looked up only when the current key refused it.
    try:
        return _fernet(purpose).decrypt(token)
    except InvalidToken:
        previous = config.previous_secret_keys()
        if not previous:
            raise
    return _multi_for(config.secret_key(), previous, purpose).decrypt(token)


def is_current(token: bytes, purpose: str) -> bool:
    """Whether ``token`` was made with the current key (its signature checks out; nothing is decrypted)."""
    try:
        _fernet(purpose).extract_timestamp(token)
    except InvalidToken:
        return False
    return True


def rotate(token: bytes, purpose: str) -> bytes:
    """``token`` re-encrypted with the current key, its content and timestamp kept; InvalidToken when no
    configured key (current or previous) opens it."""
    return _multi_for(config.secret_key(), config.previous_secret_keys(), purpose).rotate(token)


def rekeyed(token: bytes, purpose: str) -> bytes | None:
    """``token`` re-encrypted with the current key, or None when it already is (a second run changes nothing)."""
    return None if is_current(token, purpose) else rotate(token, purpose)


# -- re-encrypting stored values (akkoord rotate-secret-key) ---------------------------------------
@dataclass
class RekeyReport:
    """What re-encrypting one service's data at rest found and did."""
    reencrypted: int = 0  # values moved from a previous key to the current one
    current: int = 0  # values already under the current key
    unreadable: int = 0  # values no configured key opens: a key missing from AKKOORD_SECRET_KEY_PREVIOUS?
    # secrets only their holders know (PINs, activation codes), still hashed with a previous key: counted, not moved
    left_under_previous: dict[str, int] = field(default_factory=dict)

    def __iadd__(self, other: "RekeyReport") -> "RekeyReport":
        self.reencrypted += other.reencrypted
        self.current += other.current
        self.unreadable += other.unreadable
        for name, count in other.left_under_previous.items():
            self.left_under_previous[name] = self.left_under_previous.get(name, 0) + count
        return self


def batches(conn: sa.Connection, table: sa.Table, columns, where=(), size: int = 200):
    """The rows of ``table`` (its primary key, then ``columns``) in primary-key order, ``size`` at a time.
    The transaction of a batch is committed when the next batch is asked for: a long run holds no lock for
    long, and an interrupted one keeps what it finished."""
    key = list(table.primary_key.columns)
    after = None
    while True:
        query = sa.select(*key, *columns).where(*where).order_by(*key).limit(size)
        if after is not None:
            query = query.where(key[0] > after[0] if len(key) == 1 else sa.tuple_(*key) > sa.tuple_(*after))
        rows = conn.execute(query).all()
        if not rows:
            conn.commit()
            return
        yield rows
        conn.commit()
        after = tuple(rows[-1][:len(key)])


def rekey_table(conn: sa.Connection, table: sa.Table, purpose: str, *columns: sa.Column,
                size: int = 200) -> RekeyReport:
    """Re-encrypt the tokens in ``columns`` of ``table`` with the current key, in batches. A value is written
    only if it is still the one read: a service that changed the row meanwhile wrote it with the current
    key, and keeps its change; so no lock is held across the work and the services keep running."""
    report = RekeyReport()
    key = list(table.primary_key.columns)
    for rows in batches(conn, table, columns, where=[sa.or_(*(c.is_not(None) for c in columns))], size=size):
        for row in rows:
            moved = {}
            for column in columns:
                token = row._mapping[column]
                if token is None:
                    continue
                token = bytes(token)
                try:
                    new = rekeyed(token, purpose)
                except InvalidToken:
                    report.unreadable += 1
                    continue
                if new is None:
                    report.current += 1
                else:
                    moved[column] = (token, new)
            if moved:
                written = conn.execute(
                    sa.update(table)
                    .where(*(k == row._mapping[k] for k in key), *(c == old for c, (old, _new) in moved.items()))
                    .values({c: new for c, (_old, new) in moved.items()})).rowcount
                report.reencrypted += len(moved) if written else 0
    return report


__all__ = ["encrypt", "decrypt", "is_current", "rotate", "rekeyed", "InvalidToken", "RekeyReport", "batches",
           "rekey_table"]
