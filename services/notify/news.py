"""News messages: posted by staff to one branch or firm-wide.

Who sees what:
- firm-wide staff: every message of the firm;
- staff of a branch: firm-wide messages and those of their own branch (never another
  branch's branch-only messages);
- a client user with the ``news`` right: firm-wide messages and those of the branches of its clients.

The client → branch mapping is identity's. notify keeps a local copy (client_branches),
fed by identity's ``client_created``/``client_updated`` events (and ``clients_imported``, one
per import batch), because the news list is read on every portal page and one RPC per client
per page view would tie news to identity's latency. The copy is eventually consistent; for a
client the copy does not know yet (an event still in flight, or a client created before notify subscribed),
we ask identity ``client_scope`` once and keep the answer until the next event.
"""
import datetime as dt
import logging

import sqlalchemy as sa

from chassis import client_branches
from chassis.errors import NotFound
from chassis.principal import Principal
from notify.exceptions import BranchNotFound, NewsNotAllowed
from notify.models import ClientBranch, News

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def view(item: News) -> dict:
    return {"id": item.id, "title": item.title, "body": item.body, "branch_id": item.branch_id,
            "author_user_id": item.author_user_id, "created_at": item.created_at.isoformat() + "Z"}


def post(session, principal: Principal, data: dict, identity) -> dict:
    if not principal.is_staff or not (principal.has_right("news") or principal.has_right("admin")):
        raise NewsNotAllowed("U mag geen nieuwsberichten plaatsen.")
    if "branch_id" not in data:  # not chosen: staff of a branch post to their branch, firm-wide staff to all
        branch_id = principal.branch_id
    else:
        branch_id = data["branch_id"]
    if principal.branch_id is not None:
        if branch_id is None:
            raise NewsNotAllowed("Alleen kantoorbrede medewerkers plaatsen kantoorbreed nieuws.")
        if branch_id != principal.branch_id:
            raise BranchNotFound("Deze vestiging bestaat niet.", {"field": "branch_id"})
    elif branch_id is not None:
        _require_firm_branch(identity, principal.firm_id, branch_id)
    item = News(firm_id=principal.firm_id, branch_id=branch_id, title=data["title"].strip(),
                body=data["body"].strip(), author_user_id=principal.user_id, created_at=utcnow())
    session.add(item)
    session.flush()
    log.info("news posted", extra={"news_id": item.id, "firm_id": item.firm_id, "branch_id": branch_id})
    return view(item)


def _is_not_found(exc) -> bool:
    """identity's NotFound arrives as chassis NotFound, a registered stand-in (status 404) or a RemoteError."""
    return isinstance(exc, NotFound) or getattr(exc, "status", None) == 404 or \
        "NotFound" in (getattr(exc, "exc_type", None) or "")


def _require_firm_branch(identity, firm_id: int, branch_id: int):
    try:
        layout = identity.branch_layout(branch_id=branch_id)
    except Exception as exc:
        if not _is_not_found(exc):
            raise
        layout = None
    if not layout or layout.get("firm_id") != firm_id:
        raise BranchNotFound("Deze vestiging bestaat niet.", {"field": "branch_id"})


def visible_branches(session, principal: Principal, identity) -> tuple[bool, set]:
    """(all branches?, the branch ids besides firm-wide news)."""
    if principal.is_staff:
        return (principal.branch_id is None), ({principal.branch_id} if principal.branch_id else set())
    if not principal.is_client:
        raise NotFound("Geen nieuws.")
    if not principal.has_right("news"):  # the module right of the user's group, as staff may withdraw it
        raise NewsNotAllowed("U heeft geen toegang tot het nieuws.")
    client_ids = set(principal.client_ids)
    known = {row.client_id: row for row in session.execute(
        sa.select(ClientBranch).where(ClientBranch.client_id.in_(client_ids or {-1}))).scalars()}
    branches = {row.branch_id for row in known.values()
                if row.firm_id == principal.firm_id and row.branch_id is not None}
    unknown = client_ids - set(known)
    if unknown:
        session.commit()  # nothing written yet: end the read before waiting on identity (SQLite upgrades badly)
    for client_id in unknown:
        try:
            scope = identity.client_scope(principal=principal.dump(), client_id=client_id)
        except Exception as exc:
            if _is_not_found(exc):
                continue  # no longer visible to this user: no news through it
            raise
        client_branches.remember(session, ClientBranch, scope["firm_id"],
                                 [{"client_id": scope["id"], "branch_id": scope.get("branch_id")}], None)
        if scope["firm_id"] == principal.firm_id and scope.get("branch_id") is not None:
            branches.add(scope["branch_id"])
    return False, branches


def list_for(session, principal: Principal, identity, page: int, per_page: int) -> dict:
    everything, branches = visible_branches(session, principal, identity)
    query = sa.select(News).where(News.firm_id == principal.firm_id)
    if not everything:
        query = query.where(sa.or_(News.branch_id.is_(None), News.branch_id.in_(branches or {-1})))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(News.created_at.desc(), News.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return {"items": [view(row) for row in rows], "total": total}
