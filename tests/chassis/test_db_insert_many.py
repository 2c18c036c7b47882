"""chassis.db.insert_many: every value of every row arrives as it was given, on PostgreSQL and SQLite."""
import datetime as dt

import pytest
import sqlalchemy as sa

from chassis.db import insert_many

metadata = sa.MetaData(schema="chassis_insert_many")
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(20), nullable=False, unique=True),
    sa.Column("note", sa.Text),
    sa.Column("count", sa.Integer),
    sa.Column("secret", sa.LargeBinary),
    sa.Column("payload", sa.JSON),
    sa.Column("at", sa.DateTime),
)

ROWS = [
    {"code": "a", "note": "één 'quote' \"dubbel\" \\ {accolade} , komma", "count": 1, "secret": b"\x00\xff\x10",
     "payload": {"naam": "Zoë", "lijst": [1, 2.5, None], "leeg": {}}, "at": dt.datetime(2026, 11, 29, 3, 4, 5, 6)},
    {"code": "b", "note": None, "count": None, "secret": None, "payload": None, "at": None},
    {"code": "c", "note": "", "count": -7, "secret": b"", "payload": [], "at": dt.datetime(1999, 1, 1)},
    {"code": "NULL", "note": "NULL", "count": 0, "secret": b"NULL", "payload": "NULL", "at": None},
]


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, db_engine, tmp_path):
    if request.param == "postgresql":
        engine = db_engine
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS chassis_insert_many CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA chassis_insert_many"))
    else:
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'main.db'}")

        @sa.event.listens_for(engine, "connect")
        def attach(dbapi_conn, _record):
            dbapi_conn.execute(f"ATTACH DATABASE '{tmp_path / 'schema.db'}' AS chassis_insert_many")
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


def test_values_arrive_unchanged_and_returning_matches_by_key(engine):
    with engine.begin() as conn:
        returned = dict(insert_many(conn, things, ROWS, returning=("code", "id")))
    assert set(returned) == {r["code"] for r in ROWS}
    with engine.connect() as conn:
        stored = {r.code: r._asdict() for r in conn.execute(sa.select(things))}
    for row in ROWS:
        got = stored[row["code"]]
        assert got["id"] == returned[row["code"]]
        assert {k: (bytes(v) if isinstance(v, memoryview) else v) for k, v in got.items() if k != "id"} == row


def test_nothing_to_insert_is_no_statement(engine):
    with engine.begin() as conn:
        assert insert_many(conn, things, [], returning=("id",)) == []
        assert conn.scalar(sa.select(sa.func.count()).select_from(things)) == 0


def test_all_null_column_and_one_row(engine):
    with engine.begin() as conn:
        insert_many(conn, things, [{"code": "x", "note": None, "secret": None, "payload": None}])
        assert conn.execute(sa.select(things.c.note, things.c.secret, things.c.payload)).one() == (None, None, None)


def test_a_value_too_long_for_its_column_is_refused_not_cut(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(sa.exc.DataError):
        with engine.begin() as conn:
            insert_many(conn, things, [{"code": "x" * 21}])
