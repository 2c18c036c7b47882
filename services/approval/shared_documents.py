"""Shared documents (module ``documents``): the firm posts a file to one branch or firm-wide;
client users of that branch's clients read it, other branches' users do not see it.
"""
import base64
import mimetypes

import sqlalchemy as sa

from approval import documents
from approval.exceptions import DocumentNotFound, NotAllowed, NotAPdf
from approval.models import SharedDocument

MAX_SHARED_BYTES = 20 * 1024 * 1024
SAFE_TYPES = {"application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _content_type(filename: str, data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        try:
            documents.check_pdf(data)
            return "application/pdf"
        except NotAPdf:
            return "application/octet-stream"
    guessed = mimetypes.guess_type(filename)[0]
    if guessed == "application/pdf":  # claims to be a PDF but is not
        return "application/octet-stream"
    return guessed if guessed in SAFE_TYPES else "application/octet-stream"


def post(session, principal, data: dict, branch_firm_id) -> dict:
    """``branch_firm_id``: callable giving the firm of a branch (identity), to refuse foreign branches."""
    if not principal.is_staff or not principal.has_right("documents"):
        raise NotAllowed("U heeft geen rechten om documenten te delen.")
    branch_id = data.get("branch_id")
    if principal.branch_id is not None:  # branch staff post to their own branch only
        if branch_id not in (None, principal.branch_id):
            raise NotAllowed("U kunt alleen delen met uw eigen vestiging.")
        branch_id = principal.branch_id
    elif branch_id is not None and branch_firm_id(branch_id) != principal.firm_id:
        raise DocumentNotFound("Deze vestiging bestaat niet.", {"field": "branch_id"})
    content = documents.decode_content(data["content_base64"], MAX_SHARED_BYTES)
    filename = documents.safe_filename(data.get("filename"), "document")
    row = SharedDocument(firm_id=principal.firm_id, branch_id=branch_id, title=data["title"],
                         description=data.get("description"), filename=filename,
                         content_type=_content_type(filename, content), size=len(content),
                         sha256=documents.sha256(content), content=content, posted_by=principal.user_id)
    session.add(row)
    session.flush()
    return view(row)


def _visible(principal, client_branch_ids):
    """The where-clause of what this principal may read, or None for nothing."""
    if not principal.has_right("documents"):
        return None
    firm = SharedDocument.firm_id == principal.firm_id
    if principal.is_staff:
        if principal.branch_id is None:
            return firm
        return sa.and_(firm, sa.or_(SharedDocument.branch_id.is_(None), SharedDocument.branch_id == principal.branch_id))
    if principal.is_client and principal.client_ids:
        branches = sorted(b for b in client_branch_ids if b is not None)
        return sa.and_(firm, sa.or_(SharedDocument.branch_id.is_(None), SharedDocument.branch_id.in_(branches)))
    return None


def listing(session, principal, client_branch_ids=()) -> dict:
    where = _visible(principal, client_branch_ids)
    if where is None:
        return {"items": [], "total": 0}
    rows = session.scalars(sa.select(SharedDocument).where(where)
                           .order_by(SharedDocument.posted_at.desc(), SharedDocument.id.desc()).limit(500)).all()
    return {"items": [view(r) for r in rows], "total": len(rows)}


def fetch(session, principal, document_id: int, client_branch_ids=()) -> dict:
    where = _visible(principal, client_branch_ids)
    row = None
    if where is not None:
        row = session.scalars(sa.select(SharedDocument).where(where, SharedDocument.id == document_id)).first()
    if row is None:
        raise DocumentNotFound("Dit document bestaat niet.")
    return dict(view(row), content_base64=base64.b64encode(row.content).decode())


def view(row: SharedDocument) -> dict:
    return {"id": row.id, "branch_id": row.branch_id, "firm_wide": row.branch_id is None, "title": row.title,
            "description": row.description, "filename": row.filename, "content_type": row.content_type,
            "size": row.size, "sha256": row.sha256,
            "posted_at": row.posted_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "posted_by": row.posted_by}
