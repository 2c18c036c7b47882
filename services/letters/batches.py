"""Letter batches: accepted at once, rendered in the background, printed once, purged later.

Life of a batch: ``create`` puts the letters in mailing order (postcode), records each
letter's page, stores the letters encrypted (chassis.crypto) in blocks of ``BLOCK`` and
returns the id; a render worker ``claim``s the batch with a lease, streams the letters
block by block into one PDF that is encrypted chunk by chunk as it is written
(``storage.EncryptedChunkSink``), and on success deletes the encrypted letters, so the
PINs then exist only inside the encrypted PDF. A render
that dies (process killed) leaves its lease to expire and the batch is taken over
from the start by the next worker. ``purge_expired`` deletes PDFs (and any letters
left) after the retention time.

A batch that carries secrets identity has not yet committed (``hold``) waits as ``held``: identity asks
for it inside its transaction and confirms it afterwards through its outbox (``letter_batches_confirmed``),
so letters never print a PIN or activation code that a rolled-back change never issued. A batch nobody
confirms within ``AKKOORD_UNCONFIRMED_HOURS`` is discarded unrendered.

Scope: a batch belongs to a firm and a branch; only staff of that firm who see
that branch (branch staff: their own branch; firm-wide staff: every branch) and who
manage client users (the ``users`` right, or ``admin``: the letters carry PINs and
activation codes) see it. Everyone else gets BatchNotFound, as if it did not exist.
"""
import base64
import datetime as dt
import logging
import os
import uuid

import eventlet
import sqlalchemy as sa
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from chassis.config import unconfirmed_hours
from chassis.errors import Invalid, Unavailable
from letters.exceptions import (BatchNotFound, BatchNotReady, BatchPurged, BatchUnreadable, InvalidLayout,
                                NotAllowed)
from letters.layout import LetterPainter, mailing_key
from letters.models import Batch, BatchLetter, LetterBlock, PdfChunk, utcnow
from letters.rendering import StreamingPdf
from letters.storage import CorruptPdf, EncryptedChunkSink, open_letters, read_pdf, seal_letters

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
PROGRESS_EVERY = 100
MAX_ATTEMPTS = 3
RETRY_SECONDS = 15  # a render that crashed waits this long (times its attempts) before the next try
BLOCK = 100  # letters encrypted together (one key derivation and one row per block)
TITLES = {"pin": "PIN-brieven", "activation": "Activeringsbrieven"}
FILENAMES = {"pin": "pincodebrieven", "activation": "activeringsbrieven"}


def retention_days() -> float:
    return float(os.environ.get("AKKOORD_LETTERS_RETENTION_DAYS", "30"))


# -- scope ---------------------------------------------------------------------

def _visible(session, principal, batch_id: int, lock: bool = False) -> Batch:
    query = sa.select(Batch).where(Batch.id == batch_id)
    if lock:
        query = query.with_for_update()
    batch = session.execute(query).scalar_one_or_none()
    if (batch is None or not principal.is_staff or principal.firm_id != batch.firm_id
            or not principal.sees_branch(batch.branch_id)
            or not principal.manages_client_users):
        raise BatchNotFound("Deze brievenbatch bestaat niet.", {"batch_id": batch_id})
    return batch


# -- create --------------------------------------------------------------------

def create(session, principal, data: dict) -> dict:
    if not principal.is_staff or principal.firm_id is None:
        raise NotAllowed("Alleen medewerkers van het kantoor maken brieven aan.")
    branch_id = data.get("branch_id") or principal.branch_id
    if branch_id is None:
        raise Invalid("Kies de vestiging waarvan de brieven komen.", {"fields": {"branch_id": ["Verplicht."]}})
    if not principal.sees_branch(branch_id):
        raise BatchNotFound("Deze vestiging bestaat niet.", {"branch_id": branch_id})
    letters = data["letters"]
    batch = Batch(firm_id=principal.firm_id, branch_id=branch_id, kind=data["kind"],
                  status="held" if data.get("hold") else "queued",
                  total=len(letters), done=0, created_by=principal.user_id,
                  options={"portal_url": data.get("portal_url")})
    session.add(batch)
    session.flush()
    order = sorted(range(len(letters)), key=lambda i: mailing_key(letters[i], i))
    session.execute(sa.insert(BatchLetter), [
        {"batch_id": batch.id, "seq": seq, "position": position, "first_page": position, "last_page": position}
        for position, seq in enumerate(order, 1)])
    for block, start in enumerate(range(0, len(order), BLOCK)):
        session.execute(sa.insert(LetterBlock).values(
            batch_id=batch.id, block=block,
            content=seal_letters(batch.id, block, [letters[seq] for seq in order[start:start + BLOCK]])))
        eventlet.sleep(0)
    log.info("letter batch accepted", extra={"batch_id": batch.id, "kind": batch.kind, "total": batch.total,
                                              "status": batch.status, "firm_id": batch.firm_id,
                                              "branch_id": branch_id})
    return {"batch_id": batch.id, "status": batch.status, "total": batch.total}


DISCARDED = ("De wijziging waar deze brieven bij horen is niet doorgevoerd; de brieven zijn niet aangemaakt "
             "en de codes erin gelden niet.")


def confirm(session, batch_ids: list[int]) -> list[int]:
    """identity committed the change behind these held batches: they join the render queue.
    Gives the ids that were waiting (a redelivered confirmation finds none)."""
    held = session.execute(sa.select(Batch).where(Batch.id.in_(batch_ids)).with_for_update()).scalars().all()
    confirmed = []
    for batch in held:
        if batch.status == "held":
            batch.status = "queued"
            confirmed.append(batch.id)
        elif batch.status == "discarded":
            # identity committed after all, later than AKKOORD_UNCONFIRMED_HOURS: its codes are valid, their
            # letters gone; the firm sends new codes (reported, never silent)
            log.error("confirmation for a discarded letter batch", extra={"batch_id": batch.id,
                                                                          "firm_id": batch.firm_id})
    missing = sorted(set(batch_ids) - {batch.id for batch in held})
    if missing:
        log.error("confirmation for unknown letter batches", extra={"batch_ids": missing})
    if confirmed:
        log.info("letter batches confirmed", extra={"batch_ids": confirmed})
    return confirmed


def discard_unconfirmed(session, now: dt.datetime | None = None, hours: float | None = None) -> int:
    """Held batches whose change never committed: their letters (and secrets) are deleted unrendered."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(hours=unconfirmed_hours() if hours is None else hours)
    ids = session.execute(sa.select(Batch.id).where(Batch.status == "held", Batch.created_at < cutoff)
                          .with_for_update(skip_locked=True)).scalars().all()
    if ids:
        session.execute(sa.delete(LetterBlock).where(LetterBlock.batch_id.in_(ids)))
        session.execute(sa.update(Batch).where(Batch.id.in_(ids))
                        .values(status="discarded", error=DISCARDED, finished_at=now))
        log.warning("unconfirmed letter batches discarded", extra={"batch_ids": ids})
    return len(ids)


# -- read ----------------------------------------------------------------------

def _pages(session, batch_id: int) -> list:
    rows = session.execute(sa.select(BatchLetter.seq, BatchLetter.first_page, BatchLetter.last_page)
                           .where(BatchLetter.batch_id == batch_id).order_by(BatchLetter.seq))
    return [{"letter": seq, "first_page": first, "last_page": last} for seq, first, last in rows]


def _iso(value: dt.datetime | None):
    return value.isoformat() + "Z" if value else None


def view(session, batch: Batch, with_pages: bool = True) -> dict:
    return {"id": batch.id, "kind": batch.kind, "status": batch.status, "done": batch.done, "total": batch.total,
            "firm_id": batch.firm_id, "branch_id": batch.branch_id,
            "pages": _pages(session, batch.id) if with_pages else [],
            "created_at": _iso(batch.created_at), "finished_at": _iso(batch.finished_at),
            "printed_at": _iso(batch.printed_at), "purged_at": _iso(batch.purged_at),
            "error": batch.error}


def status(session, principal, batch_id: int) -> dict:
    return view(session, _visible(session, principal, batch_id))


def pdf(session, principal, batch_id: int) -> tuple[dict, Batch, bool]:
    """The printable PDF; the first download marks the batch printed. Returns (result, batch, first)."""
    batch = _visible(session, principal, batch_id, lock=True)
    if batch.status == "purged":
        raise BatchPurged("Deze brieven zijn na de bewaartermijn verwijderd.", {"batch_id": batch_id})
    if batch.status in ("failed", "discarded"):
        raise BatchNotReady(f"Deze brieven zijn niet aangemaakt: {batch.error or 'onbekende fout'}",
                            {"batch_id": batch_id, "status": batch.status})
    if batch.status != "done":
        raise BatchNotReady("De brieven zijn nog niet klaar.", {"batch_id": batch_id, "status": batch.status,
                                                                 "done": batch.done, "total": batch.total})
    try:
        data = read_pdf(session, batch.id, batch.pdf_chunks)
    except CorruptPdf as exc:
        log.error("stored letters unreadable", extra={"batch_id": batch.id, "reason": str(exc)})
        raise BatchUnreadable("De opgeslagen brieven kunnen niet worden gelezen. Maak de brieven opnieuw aan.",
                              {"batch_id": batch.id}) from None
    first = batch.printed_at is None
    if first:
        batch.printed_at = utcnow()
        batch.printed_by = principal.user_id
    log.info("letter batch downloaded", extra={"batch_id": batch.id, "user_id": principal.user_id, "first": first})
    return ({"filename": f"{FILENAMES[batch.kind]}-{batch.id}.pdf",
             "pdf_base64": base64.b64encode(data).decode("ascii")}, batch, first)


# -- render --------------------------------------------------------------------

class LeaseLost(Exception):
    """Another worker took the batch over (ours was presumed dead); stop without writing."""


def claim(session) -> tuple[int, str] | None:
    """Take the oldest batch waiting (or abandoned by a dead renderer); commits."""
    now = utcnow()
    # a queued batch's lease_until, when set, is the earliest retry after a crash
    query = (sa.select(Batch).where(sa.or_(sa.and_(Batch.status == "queued",
                                                   sa.or_(Batch.lease_until.is_(None), Batch.lease_until < now)),
                                           sa.and_(Batch.status == "rendering", Batch.lease_until < now)))
             .order_by(Batch.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    batch = session.execute(query).scalar_one_or_none()
    if batch is None:
        session.rollback()
        return None
    if batch.attempts >= MAX_ATTEMPTS:
        _fail(session, batch, "Het aanmaken van de brieven is herhaaldelijk mislukt.")
        session.commit()
        return None
    token = str(uuid.uuid4())
    batch.status, batch.lease_token = "rendering", token
    batch.lease_until = now + dt.timedelta(seconds=LEASE_SECONDS)
    batch.attempts += 1
    batch.started_at, batch.done, batch.error = now, 0, None
    session.execute(sa.delete(PdfChunk).where(PdfChunk.batch_id == batch.id))
    session.commit()
    return batch.id, token


def _fail(session, batch: Batch, message: str):
    batch.status, batch.error, batch.lease_token, batch.lease_until = "failed", message, None, None
    batch.finished_at = utcnow()
    session.execute(sa.delete(PdfChunk).where(PdfChunk.batch_id == batch.id))
    session.execute(sa.delete(LetterBlock).where(LetterBlock.batch_id == batch.id))
    log.warning("letter batch failed", extra={"batch_id": batch.id, "error": message})


def _renew(session, batch_id: int, token: str, done: int):
    result = session.execute(sa.update(Batch).where(Batch.id == batch_id, Batch.lease_token == token)
                             .values(done=done, lease_until=utcnow() + dt.timedelta(seconds=LEASE_SECONDS)))
    if result.rowcount != 1:
        session.rollback()
        raise LeaseLost(batch_id)


def release(session, batch_id: int, token: str):
    """Give a batch back to the queue (service stopping, identity unreachable): that try does not count."""
    session.rollback()
    _requeue(session, batch_id, token, lease_until=None, attempts=Batch.attempts - 1)


def retry_later(session, batch_id: int, token: str):
    """A render crashed midway: back to the queue, from the start, after a pause; the attempt counts,
    so a batch that keeps crashing is failed by ``claim`` after MAX_ATTEMPTS."""
    session.rollback()
    attempts = session.scalar(sa.select(Batch.attempts).where(Batch.id == batch_id, Batch.lease_token == token))
    if attempts is None:  # no longer ours
        session.rollback()
        return
    _requeue(session, batch_id, token, lease_until=utcnow() + dt.timedelta(seconds=RETRY_SECONDS * attempts))


def _requeue(session, batch_id: int, token: str, **values):
    """Back to the queue from the first letter (the row only while the lease is ours); rendered chunks dropped."""
    session.execute(sa.update(Batch).where(Batch.id == batch_id, Batch.lease_token == token)
                    .values(status="queued", lease_token=None, done=0, **values))
    session.execute(sa.delete(PdfChunk).where(PdfChunk.batch_id == batch_id))
    session.commit()


def fail(session, batch_id: int, token: str, message: str):
    session.rollback()
    batch = session.get(Batch, batch_id)
    if batch is not None and batch.lease_token == token:
        _fail(session, batch, message)
    session.commit()


def render(session, batch_id: int, token: str, layout: dict, should_stop=lambda: False,
           today: dt.date | None = None) -> Batch | None:
    """Render a claimed batch into its encrypted PDF. Returns the finished batch (not yet
    committed: the caller emits its event in the same transaction), or None when stopped."""
    batch = session.get(Batch, batch_id)
    kind, total = batch.kind, batch.total

    def store(seq, ciphertext):
        session.add(PdfChunk(batch_id=batch_id, seq=seq, data=ciphertext))
        _renew(session, batch_id, token, done)
        session.commit()

    done = 0
    sink = EncryptedChunkSink(batch_id, store)
    pdf = StreamingPdf(sink, title=f"{TITLES[kind]} {batch_id}", author=layout.get("display_name") or "")
    painter = LetterPainter(pdf, kind, layout, batch_id, today=today,
                            portal_url=(batch.options or {}).get("portal_url"))
    blocks = session.execute(sa.select(sa.func.count()).select_from(LetterBlock)
                             .where(LetterBlock.batch_id == batch_id)).scalar()
    for block in range(blocks):
        content = session.execute(sa.select(LetterBlock.content).where(
            LetterBlock.batch_id == batch_id, LetterBlock.block == block)).scalar()
        if content is None:
            raise LeaseLost(batch_id)  # deleted under us: the batch was finished or purged elsewhere
        for letter in open_letters(batch_id, block, content):
            if should_stop():
                return None
            done += 1
            painter.draw(letter, done)  # one page per letter: the page number is the mailing position
            pdf.end_page()
            if done % PROGRESS_EVERY == 0:
                _renew(session, batch_id, token, done)
                session.commit()
            # rendering is CPU-bound: give the hub (RPCs, heartbeats) a turn after every page
            eventlet.sleep(0)
    pdf.close()
    sink.close()
    if done != total:
        raise RuntimeError(f"batch {batch_id}: rendered {done} of {total} letters")
    _renew(session, batch_id, token, done)
    batch = session.get(Batch, batch_id)
    batch.status, batch.finished_at = "done", utcnow()
    batch.lease_token, batch.lease_until = None, None
    batch.pdf_chunks, batch.pdf_size = sink.chunks, sink.size
    # the PINs now live only inside the encrypted PDF
    session.execute(sa.delete(LetterBlock).where(LetterBlock.batch_id == batch_id))
    log.info("letter batch rendered", extra={"batch_id": batch_id, "pages": pdf.page_count, "bytes": sink.size})
    return batch


def render_next(db, fetch_layout, emit, should_stop) -> bool:
    """The render worker's job: claim the next batch, get its branch's layout from identity,
    render it, and emit ``batch_rendered`` with the finishing commit. True when it did
    something (there may be more), False when the queue is empty or must wait."""
    session = db.session
    claimed = claim(session)
    if claimed is None:
        return False
    batch_id, token = claimed
    batch = session.get(Batch, batch_id)
    try:
        layout = check_layout(batch.firm_id, _branch_layout(fetch_layout, batch.branch_id))
    except (Unavailable, UnknownService):
        log.warning("identity unreachable; batch waits", extra={"batch_id": batch_id})
        release(session, batch_id, token)
        return False
    except NotAllowed:
        fail(session, batch_id, token, "De vestiging hoort niet bij dit kantoor.")
        return True
    except Exception as exc:  # unknown branch, unusable layout: nothing to print with
        log.warning("no layout for batch", extra={"batch_id": batch_id, "error": type(exc).__name__})
        fail(session, batch_id, token, "De huisstijl van de vestiging kon niet worden geladen.")
        return True
    try:
        finished = render(session, batch_id, token, layout, should_stop=should_stop)
        if finished is None:  # the service is stopping: another process takes it from the start
            release(session, batch_id, token)
            return False
        emit("batch_rendered", {"batch_id": finished.id, "firm_id": finished.firm_id,
                                "branch_id": finished.branch_id, "kind": finished.kind, "total": finished.total})
        db.commit()
    except LeaseLost:
        session.rollback()
    except InvalidLayout as exc:
        fail(session, batch_id, token, exc.message)
    except Exception:
        log.exception("rendering a letter batch failed; it is tried again", extra={"batch_id": batch_id})
        retry_later(session, batch_id, token)
    return True


def _branch_layout(fetch_layout, branch_id: int) -> dict:
    try:
        return fetch_layout(branch_id)
    except (MethodNotFound, RemoteError) as exc:
        if isinstance(exc, RemoteError) and exc.exc_type != "MethodNotFound":
            raise
        # an identity without layouts (older release): a sober letter without letterhead
        log.warning("identity has no branch_layout; default letterhead", extra={"branch_id": branch_id})
        return {"id": branch_id}


def check_layout(batch_firm_id: int, layout: dict) -> dict:
    from letters.schemas import LayoutSchema
    data = LayoutSchema().load(layout or {})
    if data.get("firm_id") is not None and data["firm_id"] != batch_firm_id:
        raise NotAllowed("De vestiging hoort niet bij dit kantoor.")
    return data


# -- purge ---------------------------------------------------------------------

def purge_expired(session, now: dt.datetime | None = None, days: float | None = None) -> int:
    """Delete PDFs and any letters left of batches older than the retention time."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days() if days is None else days)
    ids = session.execute(sa.select(Batch.id).where(Batch.created_at < cutoff, Batch.status != "purged",
                                                    Batch.status != "rendering")).scalars().all()
    for batch_id in ids:
        session.execute(sa.delete(PdfChunk).where(PdfChunk.batch_id == batch_id))
        session.execute(sa.delete(LetterBlock).where(LetterBlock.batch_id == batch_id))
        session.execute(sa.update(Batch).where(Batch.id == batch_id)
                        .values(status="purged", purged_at=now, pdf_chunks=0, pdf_size=0))
    if ids:
        log.info("letter batches purged", extra={"count": len(ids)})
    return len(ids)
