"""A service's own copy of identity's client → branch mapping, kept from identity's client events.

Services that show things per branch (approval's requests, filing's filings, notify's news) may
not read identity's tables, so each keeps a ``client_branches`` table in its own schema, fed by
``client_created``, ``client_updated`` and ``clients_imported`` (one event per import batch):

- An older event never moves a client back: a row is overwritten only by an event whose
  ``occurred_at`` is not before the one it holds. A row seeded from an RPC answer (``updated_at``
  NULL) yields to any event.
- Replays are harmless: applying an event again sets the same values.
- Rows that belong to a client (``followers``: requests, documents, filings) move with it, so the
  old branch loses sight of them.
"""
import datetime as dt

import sqlalchemy as sa
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy.orm import Mapped, mapped_column

from chassis.outbox import utcnow

class ClientBranchColumns:
    """Mixin for a service's declarative ``ClientBranch`` model: ``class ClientBranch(ClientBranchColumns, Base)``."""
    __tablename__ = "client_branches"
    client_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    firm_id: Mapped[int] = mapped_column()
    branch_id: Mapped[int | None] = mapped_column()
    updated_at: Mapped[dt.datetime | None] = mapped_column()


class _ClientEventSchema(Schema):
    """identity's ``client_created`` / ``client_updated``."""
    class Meta:
        unknown = EXCLUDE

    client_id = fields.Integer(required=True)
    firm_id = fields.Integer(required=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)


class _ImportedClientSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    client_id = fields.Integer(required=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)


class _ClientsImportedSchema(Schema):
    """identity's ``clients_imported``: one import batch's created and updated clients."""
    class Meta:
        unknown = EXCLUDE

    firm_id = fields.Integer(required=True)
    created = fields.List(fields.Nested(_ImportedClientSchema), load_default=list)
    updated = fields.List(fields.Nested(_ImportedClientSchema), load_default=list)


CLIENT_EVENT = _ClientEventSchema()
CLIENTS_IMPORTED = _ClientsImportedSchema()


def parse_time(value: str | None) -> dt.datetime | None:
    """An event envelope's ``occurred_at`` as naive UTC (None when absent or unreadable)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def apply_event(session, model, event_type: str, data: dict, envelope: dict, followers=()) -> None:
    """Apply one of identity's client events (validated here) to ``model``'s table, then move the followers."""
    if event_type == "clients_imported":
        batch = CLIENTS_IMPORTED.load(data)
        firm_id, clients = batch["firm_id"], batch["created"] + batch["updated"]
    else:
        client = CLIENT_EVENT.load(data)
        firm_id, clients = client["firm_id"], [client]
    ids = remember(session, model, firm_id, clients, parse_time(envelope.get("occurred_at")))
    if ids:
        follow(session, model, followers, ids)


def event_handlers(inbox, model, followers=()):
    """A base class for a service that keeps ``model`` from identity's client events (idempotent, through the
    service's ``inbox``): ``class ApprovalService(client_branches.event_handlers(inbox, ClientBranch, ...))``."""
    from chassis.inbox import idempotent_handler

    class ClientBranchHandlers:
        @idempotent_handler(inbox, "identity", "client_created")
        def on_client_created(self, data, envelope):
            apply_event(self.db.session, model, "client_created", data, envelope, followers)

        @idempotent_handler(inbox, "identity", "client_updated")
        def on_client_updated(self, data, envelope):
            apply_event(self.db.session, model, "client_updated", data, envelope, followers)

        @idempotent_handler(inbox, "identity", "clients_imported")
        def on_clients_imported(self, data, envelope):
            apply_event(self.db.session, model, "clients_imported", data, envelope, followers)

    return ClientBranchHandlers


def _insert(session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def remember(session, model, firm_id: int, clients: list[dict], occurred_at: dt.datetime | None) -> list[int]:
    """Upsert the clients' places in one statement; returns their ids (sorted)."""
    if not clients:
        return []
    occurred_at = occurred_at or utcnow()
    latest = {int(c["client_id"]): c.get("branch_id") for c in clients}  # twice in a batch: its last place
    ids = sorted(latest)  # one lock order for concurrent batches
    table = model.__table__
    statement = _insert(session)(table).values([
        {"client_id": cid, "firm_id": firm_id, "branch_id": latest[cid], "updated_at": occurred_at} for cid in ids])
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.client_id],
        set_={"firm_id": statement.excluded.firm_id, "branch_id": statement.excluded.branch_id,
              "updated_at": statement.excluded.updated_at},
        where=sa.or_(table.c.updated_at.is_(None), table.c.updated_at <= statement.excluded.updated_at)))
    return ids


def follow(session, model, followers, client_ids: list[int]) -> None:
    """Put the followers' rows of these clients in the branch the copy holds for them."""
    for follower in followers:
        current = sa.select(model.branch_id).where(model.client_id == follower.client_id).scalar_subquery()
        session.execute(sa.update(follower)
                        .where(follower.client_id.in_(client_ids), follower.branch_id.is_distinct_from(current),
                               sa.exists().where(model.client_id == follower.client_id))
                        .values(branch_id=current)
                        .execution_options(synchronize_session=False))


def branch_locked(session, model, client: dict) -> int | None:
    """The branch a new row of ``client`` (identity's answer) belongs to, with the copy's row locked
    until commit: an event applied at the same moment either waits and then moves the new row too,
    or is seen here. A client the copy does not know yet is seeded from that answer."""
    table = model.__table__
    statement = _insert(session)(table).values(client_id=client["id"], firm_id=client["firm_id"],
                                               branch_id=client.get("branch_id"), updated_at=None)
    # A seed is only ever an RPC answer: a fresher answer replaces it, an event-fed row is left alone.
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.client_id], set_={"branch_id": statement.excluded.branch_id},
        where=table.c.updated_at.is_(None)))
    return session.scalars(sa.select(model.branch_id).where(model.client_id == client["id"])
                           .with_for_update()).one()
