"""Approval requests: opening one for an uploaded document, who sees what, the approval
screen, withdrawing and re-opening.

Visibility: staff see the requests of their firm, limited to their branch unless
firm-wide; a client user sees a request only when it is one of the users whose
approval counts (the snapshot taken at opening) and is still linked to the client.
Anything else is "not found".
"""
import base64
import collections
import functools

import sqlalchemy as sa

from chassis.errors import Invalid
from approval import client_branches, documents, evidence, rights
from approval.exceptions import NoApprovers, NotAllowed, RequestClosed, RequestNotFound
from approval.models import PENDING, Document, Participant, Request

RIGHTS_CHANGED_NOTE = ("De accordeerrechten van deze cliënt zijn gewijzigd nadat dit verzoek werd geopend. "
                       "Het verzoek volgt de rechten van het moment van openen; heropen het om de nieuwe rechten "
                       "toe te passen.")
STATUS_LABELS = {"pending": "Wacht op akkoord", "approved": "Geaccordeerd", "declined": "Afgewezen",
                 "withdrawn": "Ingetrokken"}


def require_uploader(principal):
    if not principal.is_staff or not principal.has_right("approval"):
        raise NotAllowed("U heeft geen rechten om documenten ter accordering aan te bieden.")


def _visible_query(principal):
    query = sa.select(Request).where(Request.firm_id == principal.firm_id)
    if principal.is_staff:
        if principal.branch_id is not None:
            query = query.where(Request.branch_id == principal.branch_id)
        return query
    if principal.is_client and principal.client_ids:
        return query.join(Participant, sa.and_(Participant.request_id == Request.id,
                                               Participant.user_id == principal.user_id)) \
            .where(Request.client_id.in_(principal.client_ids))
    return None


def visible(session, principal, request_id: int, lock: bool = False) -> Request:
    query = _visible_query(principal)
    if query is None:
        raise RequestNotFound("Dit accordeerverzoek bestaat niet.")
    query = query.where(Request.id == request_id).execution_options(populate_existing=True)
    request = session.scalars(query).first()
    if request is None:
        raise RequestNotFound("Dit accordeerverzoek bestaat niet.")
    if lock:
        request = lock_request(session, request_id)
    return request


def lock_request(session, request_id: int) -> Request:
    """The request row, locked until commit; every change of state goes through here."""
    return session.scalars(sa.select(Request).where(Request.id == request_id).with_for_update()
                           .execution_options(populate_existing=True)).one()


def participants(session, request_ids) -> dict:
    out: dict = {rid: [] for rid in request_ids}
    if not request_ids:
        return out
    for part in session.scalars(sa.select(Participant).where(Participant.request_id.in_(list(request_ids)))
                                .order_by(Participant.request_id, Participant.name, Participant.user_id)
                                .execution_options(populate_existing=True)):
        out[part.request_id].append(part)
    return out


def close(session, request: Request, status: str, by_user_id, reason=None):
    request.status = status
    request.closed_at = evidence.utcnow()
    request.closed_by = by_user_id
    if reason is not None:
        request.reason = reason
    session.execute(sa.update(Participant).where(Participant.request_id == request.id).values(open=False))


def open_request(session, principal, client: dict, users: list, data: dict, audit: dict, events) -> dict:
    """Store the document, fix the rights that decide, and open the request."""
    require_uploader(principal)
    documents.require_type(session, client["firm_id"], data["document_type"])
    content = documents.decode_content(data["content_base64"])
    # Before any request row is locked: an event moving the client locks this row, then the requests.
    branch_id = client_branches.branch_for_new_request(session, client)
    replaced = None
    if data.get("replaces_request_id"):
        replaced = visible(session, principal, data["replaces_request_id"], lock=True)
        if replaced.client_id != client["id"]:
            raise RequestNotFound("Dit accordeerverzoek bestaat niet.")
        if replaced.replaced_by_id:
            raise RequestClosed("Dit verzoek is al vervangen door een nieuw document.")
        if replaced.document_type != data["document_type"]:  # a correction, not another document
            raise Invalid("Een verbeterd document vervangt alleen een verzoek van hetzelfde documenttype.",
                          {"field": "replaces_request_id"})
    rule, eligible, snapshot = rights.snapshot(users, rights.explicit_rights(session, client["id"]),
                                               data["document_type"])
    if not eligible:
        raise NoApprovers("Geen enkele gebruiker van deze cliënt mag dit documenttype accorderen; "
                          "stel eerst de accordeerrechten in.", {"field": "document_type"})
    rights.require_must_by_sms(eligible)
    document = documents.store(session, firm_id=client["firm_id"], branch_id=branch_id,
                               client_id=client["id"], document_type=data["document_type"], title=data["title"],
                               filename=data.get("filename"), data=content, user_id=principal.user_id)
    request = _create(session, principal, client, branch_id, document, rule, eligible, snapshot, audit, events,
                      replaces=replaced)
    return {"id": document.id, "sha256": document.sha256, "approval_id": request.id, "status": request.status,
            "rule": rule, "approver_user_ids": [e["user_id"] for e in eligible]}


def _create(session, principal, client, branch_id, document, rule, eligible, snapshot, audit, events, replaces=None,
            event_details=None) -> Request:
    request = Request(firm_id=client["firm_id"], branch_id=branch_id, client_id=client["id"],
                      client_number=client.get("number"), client_name=client.get("name"),
                      document_id=document.id, document_type=document.document_type, title=document.title,
                      sha256=document.sha256, status=PENDING, rule=rule, rights_snapshot=snapshot,
                      opened_by=principal.user_id, opened_at=evidence.utcnow(),
                      replaces_id=replaces.id if replaces is not None else None)
    session.add(request)
    session.flush()
    for e in eligible:
        session.add(Participant(request_id=request.id, user_id=e["user_id"], client_id=client["id"],
                                name=e.get("name"), role=e["role"], confirmation=e.get("confirmation"),
                                open=True, opened_at=request.opened_at))
    details = {"rule": rule, "approvers": [e["user_id"] for e in eligible], "title": document.title,
               "document_type": document.document_type, "filename": document.filename, "size": document.size}
    if replaces is not None:
        details["replaces_request_id"] = replaces.id
    details.update(event_details or {})
    evidence.append(session, request, "created", principal, audit, method="upload", details=details)
    if replaces is not None:
        replaces.replaced_by_id = request.id
        if replaces.status == PENDING:
            _withdraw(session, principal, replaces, audit, events,
                      reason=f"Vervangen door verzoek {request.id}.", details={"replaced_by": request.id})
    events.emit("request_opened", {"request_id": request.id, "firm_id": request.firm_id,
                                   "branch_id": request.branch_id, "client_id": request.client_id,
                                   "document_type": request.document_type, "title": request.title,
                                   "approver_user_ids": [e["user_id"] for e in eligible]})
    session.flush()
    return request


def event_data(request: Request, by_user_id) -> dict:
    return {"request_id": request.id, "firm_id": request.firm_id, "branch_id": request.branch_id,
            "client_id": request.client_id, "document_type": request.document_type, "title": request.title,
            "by_user_id": by_user_id}


def _withdraw(session, principal, request, audit, events, reason=None, details=None):
    close(session, request, "withdrawn", principal.user_id, reason)
    evidence.append(session, request, "withdrawn", principal, audit, details=dict(details or {}, reason=reason))
    events.emit("request_withdrawn", event_data(request, principal.user_id))


def withdraw(session, principal, request_id: int, data: dict, audit: dict, events) -> dict:
    require_uploader(principal)
    request = visible(session, principal, request_id, lock=True)
    if request.status != PENDING:
        raise RequestClosed("Dit verzoek is al afgesloten.", {"status": request.status})
    _withdraw(session, principal, request, audit, events, reason=data.get("reason"))
    return view(session, principal, request)


def reopen(session, principal, request_id: int, client: dict, users: list, audit: dict, events) -> dict:
    """Withdraw a pending request and open the same document again under today's rights."""
    require_uploader(principal)
    branch_id = client_branches.branch_for_new_request(session, client)  # before the request lock, as above
    old = visible(session, principal, request_id, lock=True)
    if old.status != PENDING:
        raise RequestClosed("Alleen een openstaand verzoek kan heropend worden.", {"status": old.status})
    rule, eligible, snapshot = rights.snapshot(users, rights.explicit_rights(session, old.client_id),
                                               old.document_type)
    if not eligible:
        raise NoApprovers("Geen enkele gebruiker van deze cliënt mag dit documenttype accorderen.")
    rights.require_must_by_sms(eligible)
    document = session.get(Document, old.document_id)
    request = _create(session, principal, client, branch_id, document, rule, eligible, snapshot, audit, events,
                      replaces=old,
                      event_details={"reopened_from": old.id})
    return view(session, principal, request)


def document_for(session, principal, request_id: int, audit: dict) -> dict:
    """The PDF of a request; the download is recorded as 'viewed' in the evidence."""
    request = visible(session, principal, request_id, lock=True)
    evidence.append(session, request, "viewed", principal, audit)
    document = session.get(Document, request.document_id)
    data = documents.verified_content(session, document.id, request.sha256)
    return {"filename": document.filename, "sha256": request.sha256, "size": document.size,
            "pdf_base64": base64.b64encode(data).decode()}


# -- views -------------------------------------------------------------------

def view(session, principal, request: Request, parts: list | None = None, type_names: dict | None = None) -> dict:
    if parts is None:
        parts = participants(session, [request.id])[request.id]
    if type_names is None:
        type_names = documents.names_for(session, request.firm_id, [request.document_type])
    status = request.status
    pending = status == PENDING
    any_may = request.rule == rights.ANY_MAY
    me = principal.user_id if principal.is_client else None
    approved, declined, waiting, mine = [], [], [], None
    for p in parts:  # one pass: the screen builds this for every row of a page
        decision = p.decision
        if decision is None:
            if pending and (any_may or p.role == "must"):
                waiting.append({"user_id": p.user_id, "name": p.name, "role": p.role})
        elif decision == "approved":
            approved.append(p)
        elif decision == "declined":
            declined.append(p)
        if mine is None and me is not None and p.user_id == me:
            mine = p
    if len(approved) > 1:
        approved.sort(key=lambda p: p.decided_at)
    iso = evidence.iso
    out = {
        "id": request.id, "status": status, "status_label": STATUS_LABELS.get(status),
        "client": {"id": request.client_id, "number": request.client_number, "name": request.client_name},
        "branch_id": request.branch_id, "document_type": request.document_type,
        "document_type_name": type_names.get(request.document_type, request.document_type),
        "title": request.title, "sha256": request.sha256, "document_id": request.document_id,
        "rule": request.rule, "opened_at": iso(request.opened_at),
        "closed_at": iso(request.closed_at), "reason": request.reason,
        "approved_by": [{"user_id": p.user_id, "name": p.name, "at": iso(p.decided_at)} for p in approved],
        "declined_by": [{"user_id": p.user_id, "name": p.name, "at": iso(p.decided_at)} for p in declined],
        "waiting_for": waiting,
        "rights_changed": bool(request.rights_changed),
        "rights_changed_note": RIGHTS_CHANGED_NOTE if request.rights_changed and pending else None,
        "replaces_id": request.replaces_id, "replaced_by_id": request.replaced_by_id,
    }
    if me is not None:
        out["my_role"] = mine.role if mine else None
        out["my_decision"] = mine.decision if mine else None
    return out


# What the screen shows of a request and of its people: plain rows, no ORM objects to build.
SCREEN_COLUMNS = (Request.id, Request.firm_id, Request.status, Request.client_id, Request.client_number,
                  Request.client_name, Request.branch_id, Request.document_type, Request.title, Request.sha256,
                  Request.document_id, Request.rule, Request.opened_at, Request.closed_at, Request.reason,
                  Request.rights_changed, Request.replaces_id, Request.replaced_by_id)
PEOPLE_COLUMNS = (Participant.request_id, Participant.user_id, Participant.name, Participant.role,
                  Participant.decision, Participant.decided_at)
# Named tuples, not SQLAlchemy Rows: a Row's attribute access runs Python code (about 1 us each,
# ~40 per item of the screen); a named tuple's is a C-level index.
ScreenRow = collections.namedtuple("ScreenRow", [c.key for c in SCREEN_COLUMNS])
PersonRow = collections.namedtuple("PersonRow", [c.key for c in PEOPLE_COLUMNS])


# one expanding parameter: SQLAlchemy would otherwise coerce every id into its own bind
_PEOPLE = (sa.select(*PEOPLE_COLUMNS)
           .where(Participant.request_id.in_(sa.bindparam("request_ids", expanding=True)))
           .order_by(Participant.request_id, Participant.name, Participant.user_id))


def _people_rows(session, request_ids) -> dict:
    out: dict = {rid: [] for rid in request_ids}
    if request_ids:
        for row in map(PersonRow._make, session.execute(_PEOPLE, {"request_ids": list(request_ids)})):
            out[row.request_id].append(row)
    return out


def screen(session, principal, query: dict) -> dict:
    """The approval screen: one list across every client the principal may approve for (or, for
    staff, every visible client), newest first. One indexed query for the page, one for its people."""
    status, page, per_page = query["status"], query["page"], query["per_page"]
    if principal.is_client:
        if not principal.client_ids or not principal.has_right("approval"):  # nothing to approve: nothing to list
            return {"items": [], "total": 0, "page": page, "per_page": per_page}
        kind = "client"
    elif principal.is_staff:
        kind = "branch" if principal.branch_id is not None else "firm"
    else:
        raise RequestNotFound("Dit accordeerverzoek bestaat niet.")
    page_stmt, count_stmt = _screen_statements(kind, status, bool(query.get("client_id")))
    params = {"firm_id": principal.firm_id, "user_id": principal.user_id, "client_ids": list(principal.client_ids),
              "branch_id": principal.branch_id, "status": status, "client_id": query.get("client_id"),
              "limit": per_page, "offset": (page - 1) * per_page}
    rows = list(map(ScreenRow._make, session.execute(page_stmt, params)))
    if page == 1 and len(rows) < per_page:
        total = len(rows)  # the whole list is on this page: no need to count
    else:
        total = session.scalar(count_stmt, params)
    parts = _people_rows(session, [r.id for r in rows])
    type_names = documents.names_for(session, principal.firm_id, {r.document_type for r in rows})
    return {"items": [view(session, principal, r, parts[r.id], type_names) for r in rows],
            "total": total, "page": page, "per_page": per_page}


@functools.lru_cache(maxsize=None)
def _screen_statements(kind: str, status: str, by_client: bool):
    """The page and count statements of one shape of the screen, built once with bind parameters
    (a statement built per request costs more Python than running it)."""
    bind = sa.bindparam
    if kind == "client":
        base = sa.select(*SCREEN_COLUMNS).join(Participant, Participant.request_id == Request.id).where(
            Participant.user_id == bind("user_id"),
            Participant.client_id.in_(bind("client_ids", expanding=True)),
            Request.firm_id == bind("firm_id"))
        count = sa.select(sa.func.count()).select_from(Participant).where(
            Participant.user_id == bind("user_id"), Participant.client_id.in_(bind("client_ids", expanding=True)))
        if status == PENDING:
            base = base.where(Participant.open)  # the bare column: matches the partial index predicate
            count = count.where(Participant.open)
        elif status != "all":
            base = base.where(Request.status == bind("status"))
            count = count.join(Request, Request.id == Participant.request_id).where(Request.status == bind("status"))
        if by_client:
            base = base.where(Request.client_id == bind("client_id"))
            count = count.where(Participant.client_id == bind("client_id"))
        order = (Participant.opened_at.desc(), Participant.request_id.desc())
    else:
        base = sa.select(*SCREEN_COLUMNS).where(Request.firm_id == bind("firm_id"))
        if kind == "branch":
            base = base.where(Request.branch_id == bind("branch_id"))
        if status != "all":
            base = base.where(Request.status == bind("status"))
        if by_client:
            base = base.where(Request.client_id == bind("client_id"))
        count = sa.select(sa.func.count()).select_from(base.subquery())
        order = (Request.opened_at.desc(), Request.id.desc())
    return base.order_by(*order).limit(bind("limit")).offset(bind("offset")), count


def export(session, principal, request_id: int) -> dict:
    """The evidence of a request as JSON, with the result of verifying its chain."""
    request = visible(session, principal, request_id)
    rows = evidence.records(session, request.id)
    document = session.get(Document, request.document_id)
    verification = evidence.verify(request, rows)
    # the chain proves the records; the stored PDF must still be the one they name
    if documents.sha256(documents.content(session, document.id) or b"") != request.sha256:
        verification["problems"].append({"seq": None, "problem": "document_altered", "message": documents.ALTERED})
        verification["valid"] = False
    return {
        "request": view(session, principal, request),
        "document": {"id": document.id, "filename": document.filename, "size": document.size,
                     "pages": document.pages, "sha256": document.sha256,
                     "uploaded_at": evidence.iso(document.uploaded_at)},
        "records": [evidence.view(r) for r in rows],
        "verification": verification,
        "exported_at": evidence.iso(evidence.utcnow()),
        "hash_algorithm": "sha256",
    }


def certificate_payload(export: dict, layout: dict | None = None) -> dict:
    """What letters' render_certificate takes, from the JSON export."""
    req = export["request"]
    events = []
    for r in export["records"]:
        actor = r["actor"].get("username") or ("systeem" if r["actor"].get("kind") == "system" else "")
        events.append({"at": r["occurred_at"], "event": r["event"], "actor": actor, "method": r["method"] or "",
                       "ip": r["ip"] or "", "user_agent": r["user_agent"] or "", "document_sha256": r["sha256"],
                       "reason": (r["details"] or {}).get("reason") or "", "hash": r["hash"]})
    return {"request_id": req["id"], "branch_id": req["branch_id"], "title": req["title"],
            "document_type": req["document_type"], "sha256": req["sha256"],
            "client": {"number": req["client"]["number"], "name": req["client"]["name"]},
            "status": req["status"], "events": events, "chain_valid": export["verification"]["valid"],
            "layout": layout}


def approved_document(session, principal, request_id: int) -> dict:
    """For filing: the document of an approved request, with who approved it (staff scope)."""
    if not principal.is_staff:
        raise NotAllowed("Alleen het kantoor haalt geaccordeerde stukken op.")
    request = visible(session, principal, request_id)
    if request.status != "approved":
        raise RequestClosed("Dit document is (nog) niet geaccordeerd.", {"status": request.status})
    if request.replaced_by_id:  # a corrected version supersedes the approved one
        raise RequestClosed(f"Dit document is vervangen door verzoek {request.replaced_by_id}; gebruik de nieuwe "
                            "versie.", {"status": request.status, "replaced_by_id": request.replaced_by_id})
    document = session.get(Document, request.document_id)
    data = documents.verified_content(session, document.id, request.sha256)
    return {"request": view(session, principal, request), "filename": document.filename,
            "sha256": request.sha256, "size": document.size, "pdf_base64": base64.b64encode(data).decode()}
