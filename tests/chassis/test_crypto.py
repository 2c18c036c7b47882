"""Data at rest: one key per purpose, derived from AKKOORD_SECRET_KEY (the derived keys are cached)."""
import pytest

from chassis import crypto


def test_round_trip_and_purposes_kept_apart():
    token = crypto.encrypt(b"123456782", "bsn")
    assert crypto.decrypt(token, "bsn") == b"123456782"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token, "letters")


def test_a_changed_secret_applies_despite_the_cache(monkeypatch):
    token = crypto.encrypt(b"123456782", "bsn")
    monkeypatch.setenv("AKKOORD_SECRET_KEY", "another-secret-for-this-test")
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token, "bsn")
    again = crypto.encrypt(b"123456782", "bsn")
    assert crypto.decrypt(again, "bsn") == b"123456782"
    monkeypatch.undo()
    assert crypto.decrypt(token, "bsn") == b"123456782"
