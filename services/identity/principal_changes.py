"""Telling the gateways that a principal changed, so their short-lived caches drop it.

The gateway keeps the principal of a bearer token for a few seconds (gateway/principals.py) to
spare one RPC per request. Whatever changes what ``authenticate`` would answer (a session
ended, a user's rights, branch, active flag or client links) must reach every gateway replica
before the caller sees the change succeed. So identity's sessions are watched at flush time,
and after the commit (still before the RPC reply leaves) a ``principals_changed`` broadcast
goes out directly, not through the outbox: it is a cache hint, and if it is ever lost the
cache's own expiry bounds the staleness.
"""
import logging

import sqlalchemy as sa
from nameko import config
from nameko.standalone.events import event_dispatcher

from chassis.db import Database
from identity.models import ClientUserLink, Session, User

log = logging.getLogger(__name__)

EVENT = "principals_changed"
# The User columns a principal is built from (identity.principals.principal_for).
PRINCIPAL_COLUMNS = ("kind", "username", "firm_id", "branch_id", "rights", "active")
_PENDING = "principal_changes"

_dispatchers: dict = {}


def _dispatcher():
    uri = config.get("AMQP_URI")  # one per broker (tests give every portal its own vhost)
    if uri not in _dispatchers:
        _dispatchers[uri] = event_dispatcher()
    return _dispatchers[uri]


def mark(session, user_ids) -> None:
    """Record users whose principal changes in this transaction (for Core statements the
    flush watcher cannot see)."""
    ids = {int(u) for u in user_ids if u is not None}
    if not ids:
        return
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = set()
        worker = session.info.get("worker_session")
        if worker is not None:
            worker.after_commit.append(lambda: _announce(session))
    pending.update(ids)


def _announce(session) -> None:
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    try:
        _dispatcher()("identity", EVENT, {"user_ids": sorted(ids)})
    except Exception:  # the caches expire on their own; never fail the committed change
        log.warning("principals_changed not published", exc_info=True)


def _changed(obj, columns) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _after_flush(session, _flush_context) -> None:
    ids = set()
    for obj in session.dirty:
        if isinstance(obj, User) and _changed(obj, PRINCIPAL_COLUMNS):
            ids.add(obj.id)
        elif isinstance(obj, Session) and _changed(obj, ("ended_at",)):
            ids.add(obj.user_id)
        elif isinstance(obj, ClientUserLink):
            ids.add(obj.user_id)
    for obj in list(session.new) + list(session.deleted):
        # A brand-new user has no token yet; new or removed links change an existing user's clients.
        if isinstance(obj, ClientUserLink):
            ids.add(obj.user_id)
        elif isinstance(obj, User) and obj in session.deleted:
            ids.add(obj.id)
    mark(session, ids)


def _after_rollback(session) -> None:
    session.info.pop(_PENDING, None)


class WatchedDatabase(Database):
    """identity's database provider: its sessions report principal changes."""

    def setup(self):
        super().setup()
        sa.event.listen(self.sessionmaker, "after_flush", _after_flush)
        sa.event.listen(self.sessionmaker, "after_rollback", _after_rollback)
