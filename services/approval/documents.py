"""Documents to approve: PDF checks, SHA-256, storage, and the document types of a firm."""
import base64
import binascii
import hashlib
import io
import logging

import sqlalchemy as sa
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from approval.exceptions import (DocumentAltered, DocumentTooLarge, DocumentTypeExists, NotAPdf, NotAllowed,
                                 UnknownDocumentType)
from approval.models import Document, DocumentType

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

BUILTIN_TYPES = {
    "annual_accounts": "Jaarrekening",
    "income_tax": "Aangifte inkomstenbelasting",
    "corporate_tax": "Aangifte vennootschapsbelasting",
    "vat": "Aangifte omzetbelasting",
    "ec_sales_list": "Opgaaf intracommunautaire prestaties (ICP)",
    "payroll_tax": "Aangifte loonheffingen",
}


def decode_content(content_base64: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    # base64 is 4/3 of the bytes: refuse before decoding something huge.
    if len(content_base64) > (limit * 4) // 3 + 8:
        raise DocumentTooLarge(f"Het bestand is groter dan {limit // (1024 * 1024)} MB.", {"field": "file"})
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise NotAPdf("Het bestand kon niet gelezen worden.", {"field": "file"}) from None
    if len(data) > limit:
        raise DocumentTooLarge(f"Het bestand is groter dan {limit // (1024 * 1024)} MB.", {"field": "file"})
    return data


def check_pdf(data: bytes) -> int:
    """The number of pages if ``data`` is a readable PDF; NotAPdf otherwise."""
    if not data.startswith(b"%PDF-"):
        raise NotAPdf("Dit bestand is geen PDF-document.", {"field": "file"})
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise NotAPdf("Versleutelde PDF-documenten worden niet geaccepteerd.", {"field": "file"})
        pages = len(reader.pages)
    except NotAPdf:
        raise
    except (PdfReadError, Exception):  # pypdf raises many kinds on damaged files
        log.info("pdf refused", extra={"size": len(data)})
        raise NotAPdf("Dit PDF-document is beschadigd of onleesbaar.", {"field": "file"}) from None
    if pages < 1:
        raise NotAPdf("Dit PDF-document heeft geen pagina's.", {"field": "file"})
    return pages


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_filename(name: str | None, default: str = "document.pdf") -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>:|?*;').strip(" .")
    return name[:255] or default


def store(session, *, firm_id, branch_id, client_id, document_type, title, filename, data, user_id) -> Document:
    pages = check_pdf(data)
    document = Document(firm_id=firm_id, branch_id=branch_id, client_id=client_id, document_type=document_type,
                        title=title, filename=safe_filename(filename), size=len(data), pages=pages,
                        sha256=sha256(data), content=data, uploaded_by=user_id)
    session.add(document)
    session.flush()
    return document


def content(session, document_id: int) -> bytes:
    return session.scalar(sa.select(Document.content).where(Document.id == document_id))


ALTERED = "Het opgeslagen document wijkt af van het document dat ter accordering werd aangeboden."


def verified_content(session, document_id: int, sha256_expected: str) -> bytes:
    """The stored PDF, only if it is still the one whose hash the request and its evidence carry:
    nobody reads, approves or files a document swapped in the database."""
    data = content(session, document_id)
    if data is None or sha256(data) != sha256_expected:
        log.warning("document content does not match its hash", extra={"document_id": document_id})
        raise DocumentAltered(ALTERED, {"document_id": document_id})
    return data


# -- document types ----------------------------------------------------------

def types_of(session, firm_id: int) -> dict:
    """code → Dutch name: the built-in types plus the firm's own."""
    types = dict(BUILTIN_TYPES)
    for row in session.scalars(sa.select(DocumentType).where(DocumentType.firm_id == firm_id)
                               .order_by(DocumentType.name)):
        types[row.code] = row.name
    return types


def names_for(session, firm_id: int, codes) -> dict:
    """code → name for the given codes; the database is asked only about a firm's own types."""
    names = {code: BUILTIN_TYPES[code] for code in codes if code in BUILTIN_TYPES}
    own = sorted(set(codes) - set(names))
    if own:
        names.update(session.execute(sa.select(DocumentType.code, DocumentType.name).where(
            DocumentType.firm_id == firm_id, DocumentType.code.in_(own))).tuples().all())
    return names


def list_types(session, principal) -> list:
    return [{"code": code, "name": name, "builtin": code in BUILTIN_TYPES}
            for code, name in types_of(session, principal.firm_id).items()]


def require_type(session, firm_id: int, code: str) -> str:
    types = types_of(session, firm_id)
    if code not in types:
        raise UnknownDocumentType("Onbekend documenttype.", {"field": "document_type"})
    return types[code]


def add_type(session, principal, data: dict) -> dict:
    if not principal.is_staff or not (principal.has_right("admin") or principal.has_right("approval")):
        raise NotAllowed("U heeft geen rechten om documenttypes toe te voegen.")
    if data["code"] in types_of(session, principal.firm_id):
        raise DocumentTypeExists("Dit documenttype bestaat al.", {"field": "code"})
    session.add(DocumentType(firm_id=principal.firm_id, code=data["code"], name=data["name"],
                             created_by=principal.user_id))
    session.flush()
    return {"code": data["code"], "name": data["name"], "builtin": False}
