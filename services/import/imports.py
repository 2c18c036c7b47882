"""The import wizard's state: upload (in chunks, checked as it arrives), status,
rows of the preview, and the request to commit. The heavy work runs in jobs.py."""
import base64
import hashlib
import os
import tempfile

import eventlet.tpool
import sqlalchemy as sa

from chassis import crypto
from chassis.principal import Principal
from importer import readers
from importer.exceptions import (BranchNotFound, FileTooLarge, ImportNotFound, ImportNotReady, RowsNotCommittable,
                                 UnsupportedFile)
from importer.models import Import, ImportChunk, import_rows, now

MAX_FILE_BYTES = int(os.environ.get("AKKOORD_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
CHUNK_BYTES = 1024 * 1024
COMMIT_BATCH = int(os.environ.get("AKKOORD_IMPORT_BATCH", "1000"))
STATUSES = ("new", "update", "unchanged", "invalid", "failed")
UPLOAD_PURPOSE = "importer.upload"
BSN_PURPOSE = "importer.row.bsn"
SEALED = "enc:"


def seal_bsn(values: dict) -> dict:
    """A BSN is stored encrypted in the preview rows (SPEC §3), like identity stores it."""
    if values.get("bsn"):
        values = dict(values, bsn=SEALED + crypto.encrypt(str(values["bsn"]).encode(), BSN_PURPOSE).decode())
    return values


def open_bsn(values: dict) -> dict:
    bsn = values.get("bsn")
    if isinstance(bsn, str) and bsn.startswith(SEALED):
        values = dict(values, bsn=crypto.decrypt(bsn[len(SEALED):].encode(), BSN_PURPOSE).decode())
    return values


def masked(values: dict) -> dict:
    """What a preview shows of a BSN: only its last three characters."""
    if values.get("bsn"):
        plain = open_bsn(values)["bsn"]
        values = dict(values, bsn="*" * 6 + plain[-3:])
    return values


def _require_importer(p: Principal):
    p.require_staff("admin")


def get_visible(session, p: Principal, import_id: int, for_update=False) -> Import:
    query = sa.select(Import).where(Import.id == import_id, Import.firm_id == p.firm_id)
    if for_update:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None or not p.is_staff or (p.branch_id is not None
                                           and (found.principal or {}).get("branch_id") != p.branch_id):
        raise ImportNotFound("Deze import bestaat niet.", {"import_id": import_id})
    return found


def start(session, identity, p: Principal, data: dict) -> dict:
    _require_importer(p)
    kind = readers.kind_for(data["filename"])
    if data.get("size") and data["size"] > MAX_FILE_BYTES:
        raise FileTooLarge(_too_large(), {"limit": MAX_FILE_BYTES})
    branch_id = data.get("branch_id")
    if branch_id is not None and branch_id != p.branch_id:
        # refused now, not row by row at commit: identity answers with the branches this person may use
        if branch_id not in {b["id"] for b in identity.list_branches(principal=p.dump())}:
            raise BranchNotFound("Deze vestiging bestaat niet.", {"field": "branch_id"})
    record = Import(firm_id=p.firm_id, branch_id=branch_id if branch_id is not None else p.branch_id,
                    user_id=p.user_id, principal=p.dump(), filename=data["filename"][:255], kind=kind,
                    status="uploading", summary={})
    session.add(record)
    session.flush()
    return {"id": record.id, "status": record.status, "chunk_bytes": CHUNK_BYTES}


def _too_large() -> str:
    return f"Het bestand is te groot; het maximum is {MAX_FILE_BYTES // (1024 * 1024)} MB."


def add_chunk(session, p: Principal, data: dict) -> dict:
    record = get_visible(session, p, data["import_id"], for_update=True)
    if record.status != "uploading":
        raise ImportNotReady("Deze import neemt geen bestand meer aan.", {"status": record.status})
    chunk = base64.b64decode(data["data"], validate=True)
    if len(chunk) > CHUNK_BYTES:
        raise FileTooLarge("Een deel van het bestand is te groot.", {"limit": CHUNK_BYTES})
    try:
        if record.size + len(chunk) > MAX_FILE_BYTES:
            raise FileTooLarge(_too_large(), {"limit": MAX_FILE_BYTES})
        if data["seq"] == 0:
            readers.check_head(record.kind, chunk[:16])
        if record.kind == "csv":
            readers.check_csv_chunk(chunk)
    except Exception as exc:
        _refuse(session, record, exc)
        raise
    # client files carry BSNs: encrypted at rest, even for the minutes until they are parsed
    session.add(ImportChunk(import_id=record.id, seq=data["seq"], data=crypto.encrypt(chunk, UPLOAD_PURPOSE)))
    record.size += len(chunk)
    return {"id": record.id, "size": record.size}


def _refuse(session, record: Import, exc):
    """Keep the refusal on record (the caller's transaction is rolled back by the raise)."""
    message = getattr(exc, "message", "Het bestand is geweigerd.")
    session.rollback()
    session.execute(sa.delete(ImportChunk).where(ImportChunk.import_id == record.id))
    session.execute(sa.update(Import).where(Import.id == record.id).values(
        status="failed", error={"message": message, "code": getattr(exc, "code", "refused")}))
    session.commit()


def assemble(session, import_id: int) -> tuple[str, str, int]:
    """Write the stored chunks to a temporary file, one chunk in memory at a time: (path, sha256, size)."""
    digest = hashlib.sha256()
    handle = tempfile.NamedTemporaryFile(prefix=f"akkoord-import-{import_id}-", delete=False)
    size = 0
    with handle:
        seqs = session.scalars(sa.select(ImportChunk.seq).where(ImportChunk.import_id == import_id)
                               .order_by(ImportChunk.seq)).all()
        for expected, seq in enumerate(seqs):
            if seq != expected:
                os.unlink(handle.name)
                raise UnsupportedFile("Het bestand is niet volledig ontvangen; upload het opnieuw.", {"missing": expected})
            chunk = session.scalar(sa.select(ImportChunk.data).where(ImportChunk.import_id == import_id,
                                                                      ImportChunk.seq == seq))
            chunk = crypto.decrypt(chunk, UPLOAD_PURPOSE)
            digest.update(chunk)
            handle.write(chunk)
            size += len(chunk)
    return handle.name, digest.hexdigest(), size


def finish(session, p: Principal, import_id: int) -> dict:
    """The whole file is here: check it (zip structure, XML, encoding) and queue the parse."""
    record = get_visible(session, p, import_id, for_update=True)
    if record.status != "uploading":
        raise ImportNotReady("Deze import is al ontvangen.", {"status": record.status})
    path, sha256, size = assemble(session, record.id)
    try:
        if size == 0:
            raise UnsupportedFile("Het bestand is leeg.", {})
        if record.kind == "xlsx":
            eventlet.tpool.execute(readers.check_xlsx, path)
        readers.check_header(record.kind, path)
    except Exception as exc:
        _refuse(session, record, exc)
        raise
    finally:
        os.unlink(path)
    record.sha256 = sha256
    record.size = size
    record.status = "parsing"
    record.progress_done, record.progress_total = 0, 0
    return view(session, record)


def view(session, record: Import) -> dict:
    summary = {key: int((record.summary or {}).get(key, 0)) for key in ("new", "update", "unchanged", "invalid")}
    progress = {"done": record.progress_done, "total": record.progress_total}
    waiting = (record.summary or {}).get("waiting")
    if waiting and record.status in ("parsing", "committing"):  # the job waits for identity (jobs.py)
        progress.update(message=waiting.get("message"), waiting_for=waiting.get("service"),
                        waiting_since=waiting.get("since"))
    result = {
        "id": record.id, "status": record.status, "filename": record.filename, "kind": record.kind,
        "size": record.size, "sha256": record.sha256,
        "progress": progress,
        "summary": summary, "columns": record.columns, "error": record.error,
        "branch_id": record.branch_id, "group_id": record.group_id, "user_id": record.user_id,
        "created_at": _iso(record.created_at), "parsed_at": _iso(record.parsed_at),
        "committed_at": _iso(record.committed_at), "committed_by": record.committed_by, "result": record.result,
        "encoding": record.encoding, "delimiter": record.delimiter,
        "reader_peak_mb": (record.summary or {}).get("reader_peak_mb"),
    }
    return result


def _iso(value):
    return value.isoformat() + "Z" if value else None


def status(session, p: Principal, import_id: int) -> dict:
    return view(session, get_visible(session, p, import_id))


def history(session, p: Principal, limit: int = 50) -> list:
    p.require_staff()
    query = sa.select(Import).where(Import.firm_id == p.firm_id).order_by(Import.id.desc()).limit(limit)
    return [view(session, r) for r in session.scalars(query)
            if p.branch_id is None or (r.principal or {}).get("branch_id") == p.branch_id]


def rows(session, p: Principal, import_id: int, query: dict) -> dict:
    record = get_visible(session, p, import_id)
    where = [import_rows.c.import_id == record.id]
    if query.get("status"):
        where.append(import_rows.c.status == query["status"])
    total = session.scalar(sa.select(sa.func.count()).select_from(import_rows).where(*where))
    page, per_page = query.get("page", 1), query.get("per_page", 100)
    result = session.execute(sa.select(import_rows).where(*where).order_by(import_rows.c.row_number)
                             .offset((page - 1) * per_page).limit(per_page))
    items = []
    for r in result:
        changes = r.changes or {}
        if isinstance(changes, list):
            changes = {"fields": changes}
        items.append({"row": r.row_number, "number": r.number, "status": r.status, "values": masked(r.data),
                      "errors": r.errors or {}, "changes": changes.get("fields", []),
                      "previous": changes.get("previous", {})})
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def request_commit(session, p: Principal, import_id: int, data: dict) -> dict:
    _require_importer(p)
    record = get_visible(session, p, import_id, for_update=True)
    if record.status != "ready":
        raise ImportNotReady("Deze import kan nu niet worden doorgevoerd.", {"status": record.status})
    chosen = data["rows"]
    if chosen != "all":
        _check_choice(session, record.id, chosen)
    # The preview numbered every new and updated row into batches already (all of them chosen), so
    # "all" rewrites no rows. A choice of rows is numbered again (the others leave their batch), and
    # so is a preview made before the preview numbered them.
    to_commit = [import_rows.c.import_id == record.id, import_rows.c.status.in_(("new", "update"))]
    if chosen != "all" or session.scalar(sa.select(sa.exists().where(*to_commit, import_rows.c.batch.is_(None)))):
        if chosen != "all":
            to_commit.append(import_rows.c.row_number.in_(sorted(set(chosen))))
        session.execute(sa.update(import_rows).where(import_rows.c.import_id == record.id,
                                                     import_rows.c.batch.is_not(None)).values(batch=None))
        ranked = sa.select(import_rows.c.row_number,
                           (sa.func.row_number().over(order_by=import_rows.c.row_number) - 1).label("rank")
                           ).where(*to_commit).subquery()
        session.execute(
            sa.update(import_rows).where(import_rows.c.import_id == record.id,
                                         import_rows.c.row_number == ranked.c.row_number)
            .values(batch=ranked.c.rank // COMMIT_BATCH))
    count, last_batch = session.execute(
        sa.select(sa.func.count(), sa.func.max(import_rows.c.batch))
        .where(import_rows.c.import_id == record.id, import_rows.c.batch.is_not(None))).one()
    record.group_id = data.get("group_id")
    record.committed_by = p.user_id
    # The preview was made within the uploader's branch; a firm-wide colleague who commits it commits it
    # within that branch too (a client of another branch the preview showed as new is not overwritten),
    # and the import stays visible to the branch it belongs to.
    record.principal = dict(p.dump(), branch_id=(record.principal or {}).get("branch_id", p.branch_id))
    record.batches = 0 if last_batch is None else last_batch + 1
    record.progress_done, record.progress_total = 0, count
    record.status = "committing"
    record.attempts = 0
    record.commit_started_at = now()
    record.result = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    return view(session, record)


def _check_choice(session, import_id: int, chosen: list):
    """Chosen rows must be rows of the preview that can go in: an invalid or unknown row is not
    silently left out (the person would believe it imported); unchanged rows are harmless."""
    wanted = set(chosen)
    if not wanted:
        raise RowsNotCommittable("Kies ten minste één rij om door te voeren.", {"field": "rows", "rows": []})
    fit = set()
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 10000):
        fit.update(session.scalars(sa.select(import_rows.c.row_number).where(
            import_rows.c.import_id == import_id, import_rows.c.row_number.in_(ordered[start:start + 10000]),
            import_rows.c.status.in_(("new", "update", "unchanged")))))
    bad = sorted(wanted - fit)
    if bad:
        shown = ", ".join(str(n) for n in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise RowsNotCommittable(f"Deze rijen zijn ongeldig of bestaan niet en kunnen niet worden doorgevoerd: "
                                 f"{shown}.", {"field": "rows", "rows": bad[:1000]})


def check_group(identity, principal: dict, group_id, import_id: int):
    """The group for new clients must be a client group of the firm (identity decides; no rows sent)."""
    if group_id is None:
        return
    from chassis.errors import NotFound
    from importer.exceptions import UnknownGroup
    try:
        identity.upsert_clients(principal=principal, rows=[], group_id=group_id, import_id=import_id)
    except Exception as exc:  # typed NotFound, or a RemoteError naming it when the class is not registered
        if isinstance(exc, NotFound) or str(getattr(exc, "exc_type", "")).endswith("NotFound"):
            raise UnknownGroup("Deze cliëntgroep bestaat niet.", {"group_id": group_id}) from None
        raise
