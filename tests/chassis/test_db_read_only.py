"""Read-only entrypoints skip BEGIN/COMMIT; pooled connections are checked only after sitting idle."""
import time

import pytest
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcClient

from chassis.db import normalise_url, ping_when_idle_for
from tests.chassis.support import ProducerService, create_schema


@pytest.fixture
def producer(container_factory, service_config, db_engine):
    create_schema(db_engine)
    container = container_factory(ProducerService)
    container.start()
    with ClusterRpcClient() as rpc:
        yield rpc.producer


def test_read_only_entrypoint_runs_without_a_transaction_around_it(producer):
    producer.make_widget("a")
    seen = producer.count_widgets()
    assert seen == {"count": 1, "statement_is_its_own_transaction": True}


def test_a_write_in_a_read_only_entrypoint_is_refused_and_leaves_nothing(producer):
    with pytest.raises(RemoteError) as raised:
        producer.make_widget_read_only("b")
    assert raised.value.exc_type == "ReadOnlyViolation"
    assert producer.count_widgets()["count"] == 0


def _kill_backend(admin, engine):
    with engine.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.1)  # the backend is gone before the next checkout


def test_connection_idle_past_the_window_is_checked_and_replaced(database_url):
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    ping_when_idle_for(engine, 0.3)
    try:
        _kill_backend(admin, engine)
        time.sleep(0.3)
        with engine.connect() as conn:  # pinged on checkout, found dead, reconnected
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1

        # Inside the window there is no ping (that round trip is what the window saves): a
        # connection killed a moment after use fails once, and the pool is renewed after it.
        _kill_backend(admin, engine)
        with pytest.raises(sa.exc.OperationalError):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
        admin.dispose()


def test_read_only_session_costs_one_round_trip_and_leaves_the_connection_as_it_found_it(database_url):
    """SQLAlchemy's psycopg2 dialect resets AUTOCOMMIT with ``SET default_transaction_isolation``, a
    round trip on every checkin; chassis switches psycopg2's attributes locally. The server's view of
    the backend shows the last statement it ran: the read itself, not a SET after it."""
    from chassis.db import _create_engine
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    engine = _create_engine(normalise_url(database_url))
    read_only = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        for _ in range(3):  # psycopg2 sends the SET from the second switch of a connection on
            with read_only.connect() as conn:
                pid = conn.execute(sa.text("SELECT pg_backend_pid() /* the read */")).scalar()
        with admin.connect() as conn:
            last = conn.execute(sa.text("SELECT query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar()
        assert last == "SELECT pg_backend_pid() /* the read */"

        # The same pooled connection, back in a normal transaction: BEGIN at the server's default level.
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() == pid
            assert conn.connection.dbapi_connection.autocommit is False
            assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == "read committed"
            conn.execute(sa.text("SELECT 1"))
            conn.rollback()
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="SERIALIZABLE")
            assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == "serializable"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == "read committed"
    finally:
        engine.dispose()
        admin.dispose()


def test_a_read_only_checkout_after_the_idle_ping_works(database_url, monkeypatch):
    """The idle ping's SELECT 1 opens a transaction on the raw connection; switching that connection to
    autocommit for a read-only worker must not fail ("set_session cannot be used inside a transaction")."""
    from chassis.db import _create_engine
    monkeypatch.setenv("AKKOORD_DB_PING_AFTER_IDLE_SECONDS", "0.01")
    engine = _create_engine(normalise_url(database_url))
    read_only = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        for use in (engine, read_only, read_only, engine, read_only):
            time.sleep(0.05)  # idle past the window: pinged on checkout
            with use.connect() as conn:
                assert conn.execute(sa.text("SELECT 7")).scalar() == 7
    finally:
        engine.dispose()
