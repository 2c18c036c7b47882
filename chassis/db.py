"""SQLAlchemy 2 for nameko: one engine per process and URL, a session per worker.

Every service owns one schema (PostgreSQL schema; on the embedded SQLite default
an ATTACHed database file per schema), so its tables are its own.

A worker's session is committed by the entrypoint before the reply leaves
(see chassis.entrypoints) because nameko sends an RPC reply before it calls
``worker_result``; committing there would let a caller read stale data.
"""
import os
import threading
from pathlib import Path

import sqlalchemy as sa
from nameko import config
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()

SERVICE_SCHEMAS = ("identity", "importer", "approval", "notify", "letters", "filing")


def normalise_url(url: str) -> str:
    # A plain postgresql:// URL uses the driver we ship and test: psycopg2, which
    # eventlet's monkey_patch() turns green (queries don't block the hub).
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def get_engine(url: str) -> sa.Engine:
    url = normalise_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            _engines[url] = engine
        return engine


def _create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        db_path = Path(sa.engine.make_url(url).database or ":memory:")

        @sa.event.listens_for(engine, "connect")
        def _attach_schemas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            for schema in SERVICE_SCHEMAS:
                target = ":memory:" if str(db_path) == ":memory:" else str(db_path.with_name(f"{db_path.stem}-{schema}.db"))
                cursor.execute(f"ATTACH DATABASE '{target}' AS {schema}")
            cursor.close()

        return engine
    # One pool per process, shared by the services it runs; sized so replicas x pods stay
    # well inside PostgreSQL's max_connections.
    return sa.create_engine(url, pool_size=int(os.environ.get("AKKOORD_DB_POOL_SIZE", "5")),
                            max_overflow=int(os.environ.get("AKKOORD_DB_POOL_OVERFLOW", "10")),
                            pool_pre_ping=True, pool_recycle=1800)


def dispose_engines():
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


class Base(DeclarativeBase):
    """Declarative base; each service sets ``metadata = MetaData(schema=...)``."""


class WorkerSession:
    """The database handle a worker sees: a lazily opened session, committed by the entrypoint."""

    def __init__(self, provider: "Database"):
        self._provider = provider
        self._session: Session | None = None
        self.after_commit: list = []

    @property
    def session(self) -> Session:
        if self._session is None:
            # Listeners on the session (e.g. identity's principal changes) find their worker here.
            self._session = self._provider.sessionmaker(info={"worker_session": self})
        return self._session

    @property
    def engine(self) -> sa.Engine:
        return self._provider.engine

    def commit(self):
        if self._session is not None:
            self._session.commit()
        callbacks, self.after_commit = self.after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self):
        self.after_commit = []
        if self._session is not None:
            self._session.rollback()

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """Dependency provider: ``db = Database("identity")``; use ``self.db.session``."""

    def __init__(self, schema: str):
        self.schema = schema
        self.engine: sa.Engine | None = None
        self.sessionmaker = None
        self._worker_sessions: dict = {}

    def setup(self):
        self.engine = get_engine(config["DATABASE_URL"])
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self):
        # Engines are shared within a process; dispose only our pool's idle connections.
        if self.engine is not None:
            self.engine.dispose(close=False)

    def get_dependency(self, worker_ctx):
        handle = WorkerSession(self)
        self._worker_sessions[worker_ctx] = handle
        return handle

    def worker_teardown(self, worker_ctx):
        handle = self._worker_sessions.pop(worker_ctx, None)
        if handle is not None:
            # Anything the entrypoint did not commit explicitly is discarded.
            handle.rollback()
            handle.close()

    def check(self):
        """Readiness: can we reach the database?"""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
