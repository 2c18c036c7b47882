"""Idempotent consumers: an event's effect happens at most once per handler.

``@idempotent_handler(table, source, event_type)`` wraps nameko's event handler:
it records (event_id, handler) in the service's ``inbox`` table in the same
transaction as the handler's effect. A redelivered or re-published event finds
its row and is acknowledged without running again. A handler that keeps failing
is retried a few times in-process, then parked in the inbox as failed (our dead
letter) so one poison message cannot loop forever.
"""
import functools
import logging

import eventlet
import sqlalchemy as sa
from nameko.events import event_handler
from sqlalchemy.exc import IntegrityError

from chassis.outbox import utcnow

log = logging.getLogger(__name__)

HANDLER_ATTEMPTS = 3


def define_inbox(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox", metadata,
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("handler", sa.String(150), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),  # done | failed
        sa.Column("handled_at", sa.DateTime, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )


def idempotent_handler(inbox: sa.Table, source_service: str, event_type: str, db_attr: str = "db", **kwargs):
    def decorator(fn):
        handler_name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(self, payload):
            db = getattr(self, db_attr)
            event_id = payload["event_id"]
            for attempt in range(1, HANDLER_ATTEMPTS + 1):
                session = db.session
                try:
                    session.execute(inbox.insert().values(
                        event_id=event_id, handler=handler_name, status="done", handled_at=utcnow()))
                    session.flush()
                except IntegrityError:
                    db.rollback()
                    log.info("event already handled", extra={"event_id": event_id, "handler": handler_name})
                    return None
                try:
                    result = fn(self, payload["data"], payload)
                    db.commit()
                    return result
                except IntegrityError as exc:
                    # A concurrent replica committed the same event first.
                    db.rollback()
                    if _already_done(db, inbox, event_id, handler_name):
                        return None
                    error = exc
                except Exception as exc:
                    db.rollback()
                    error = exc
                log.warning("event handler failed", exc_info=error,
                            extra={"event_id": event_id, "handler": handler_name, "attempt": attempt})
                eventlet.sleep(0.2 * attempt)
            db.session.execute(inbox.insert().values(
                event_id=event_id, handler=handler_name, status="failed",
                handled_at=utcnow(), error=repr(error)[:2000]))
            db.commit()
            log.error("event parked as failed", extra={"event_id": event_id, "handler": handler_name})
            return None

        return event_handler(source_service, event_type, **kwargs)(wrapper)

    return decorator


def _already_done(db, inbox, event_id, handler_name) -> bool:
    row = db.session.execute(sa.select(inbox.c.status).where(
        inbox.c.event_id == event_id, inbox.c.handler == handler_name)).first()
    return row is not None
