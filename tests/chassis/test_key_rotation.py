"""Rotating AKKOORD_SECRET_KEY: older keys (AKKOORD_SECRET_KEY_PREVIOUS) still decrypt, new data and
re-encrypted data are under the current key only."""
import uuid

import pytest

from chassis import crypto


def keys():
    return "key-A-" + uuid.uuid4().hex, "key-B-" + uuid.uuid4().hex


def use(monkeypatch, current, previous=None):
    monkeypatch.setenv("AKKOORD_SECRET_KEY", current)
    if previous is None:
        monkeypatch.delenv("AKKOORD_SECRET_KEY_PREVIOUS", raising=False)
    else:
        monkeypatch.setenv("AKKOORD_SECRET_KEY_PREVIOUS", previous)


def test_a_previous_key_still_decrypts_and_new_data_is_under_the_current_key(monkeypatch):
    a, b = keys()
    use(monkeypatch, a)
    old = crypto.encrypt(b"123456782", "bsn")

    use(monkeypatch, b, previous=a)
    assert crypto.decrypt(old, "bsn") == b"123456782"
    new = crypto.encrypt(b"111222333", "bsn")
    assert crypto.decrypt(new, "bsn") == b"111222333"
    assert not crypto.is_current(old, "bsn") and crypto.is_current(new, "bsn")
    with pytest.raises(crypto.InvalidToken):  # purposes stay apart under every key
        crypto.decrypt(old, "letters")

    use(monkeypatch, a)  # the new token is under B: A alone cannot read it
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(new, "bsn")


def test_rotate_moves_a_token_to_the_current_key(monkeypatch):
    a, b = keys()
    use(monkeypatch, a)
    old = crypto.encrypt(b"123456782", "bsn")
    use(monkeypatch, b, previous=a)
    moved = crypto.rotate(old, "bsn")
    assert moved != old and crypto.is_current(moved, "bsn")
    use(monkeypatch, b)
    assert crypto.decrypt(moved, "bsn") == b"123456782"


def test_without_the_previous_key_an_old_token_is_refused(monkeypatch):
    a, b = keys()
    use(monkeypatch, a)
    old = crypto.encrypt(b"123456782", "bsn")
    use(monkeypatch, b)
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(old, "bsn")
    with pytest.raises(crypto.InvalidToken):
        crypto.rotate(old, "bsn")


def test_several_previous_keys_comma_separated(monkeypatch):
    a, b = keys()
    c = "key-C-" + uuid.uuid4().hex
    use(monkeypatch, a)
    under_a = crypto.encrypt(b"a", "letters.pdf")
    use(monkeypatch, b)
    under_b = crypto.encrypt(b"b", "letters.pdf")
    use(monkeypatch, c, previous=f" {b} , {a},")
    assert crypto.decrypt(under_a, "letters.pdf") == b"a"
    assert crypto.decrypt(under_b, "letters.pdf") == b"b"
    assert crypto.is_current(crypto.rotate(under_a, "letters.pdf"), "letters.pdf")


def test_rekey_table_moves_old_values_in_batches_and_a_second_run_changes_nothing(monkeypatch):
    import sqlalchemy as sa
    metadata = sa.MetaData()
    table = sa.Table("chunks", metadata, sa.Column("owner", sa.Integer, primary_key=True),
                     sa.Column("seq", sa.Integer, primary_key=True), sa.Column("data", sa.LargeBinary),
                     sa.Column("extra", sa.LargeBinary))
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    a, b = keys()
    other = "key-lost-" + uuid.uuid4().hex
    use(monkeypatch, other)
    lost = crypto.encrypt(b"lost", "chunks")
    use(monkeypatch, a)
    rows = [{"owner": owner, "seq": seq, "data": crypto.encrypt(f"{owner}/{seq}".encode(), "chunks"),
             "extra": None if seq % 2 else crypto.encrypt(b"extra", "chunks")} for owner in (1, 2) for seq in range(3)]
    use(monkeypatch, b, previous=a)
    rows.append({"owner": 3, "seq": 0, "data": crypto.encrypt(b"3/0", "chunks"), "extra": lost})
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)

    with engine.connect() as conn:
        first = crypto.rekey_table(conn, table, "chunks", table.c.data, table.c.extra, size=2)
    assert (first.reencrypted, first.current, first.unreadable) == (6 + 4, 1, 1)
    with engine.connect() as conn:
        again = crypto.rekey_table(conn, table, "chunks", table.c.data, table.c.extra, size=2)
    assert (again.reencrypted, again.current, again.unreadable) == (0, 11, 1)

    use(monkeypatch, b)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table).order_by(table.c.owner, table.c.seq)).all()
    assert [crypto.decrypt(r.data, "chunks").decode() for r in stored] == \
        [f"{owner}/{seq}" for owner in (1, 2, 3) for seq in range(3) if owner < 3 or seq == 0]
    assert [r.extra is None or r.extra == lost or crypto.decrypt(r.extra, "chunks") == b"extra" for r in stored] \
        == [True] * 7
