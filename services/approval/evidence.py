"""The evidence trail of a request: append-only records chained by hash.

Each record's ``hash`` is the SHA-256 of its canonical JSON (every field but the
database id), which includes ``prev_hash``, the hash of the record before it.
The request row keeps the number of records and the hash of the last one, so a
record changed, removed from the middle, or removed from the end is detected.
Appending happens with the request row locked (callers hold SELECT ... FOR
UPDATE), so the chain never forks.
"""
import datetime as dt
import hashlib
import json

import sqlalchemy as sa

from approval.models import Evidence, Request

EVENTS = ("created", "viewed", "code_sent", "approved", "declined", "withdrawn", "completed", "reopened")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def iso(moment: dt.datetime | None) -> str | None:
    """UTC as 2026-11-28T12:00:00.000000Z (the form the evidence chain hashes: never change it)."""
    if moment is None:
        return None
    if moment.tzinfo is not None or moment.year < 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat(timespec="microseconds") + "Z"  # the same text, five times faster


def _canonical(request_id, seq, occurred_at, event, actor_kind, actor_user_id, actor_username, method, ip,
               user_agent, sha256, details, prev_hash) -> bytes:
    body = {"request_id": request_id, "seq": seq, "occurred_at": iso(occurred_at), "event": event,
            "actor_kind": actor_kind, "actor_user_id": actor_user_id, "actor_username": actor_username,
            "method": method, "ip": ip, "user_agent": user_agent, "sha256": sha256,
            "details": details or {}, "prev_hash": prev_hash}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(row: Evidence) -> str:
    return hashlib.sha256(_canonical(row.request_id, row.seq, row.occurred_at, row.event, row.actor_kind,
                                     row.actor_user_id, row.actor_username, row.method, row.ip, row.user_agent,
                                     row.sha256, row.details, row.prev_hash)).hexdigest()


def append(session, request: Request, event: str, principal=None, audit: dict | None = None,
           method: str | None = None, details: dict | None = None) -> Evidence:
    """Append one record; the caller holds the request row locked (or just created it)."""
    assert event in EVENTS, event
    audit = audit or {}
    row = Evidence(request_id=request.id, seq=(request.evidence_count or 0) + 1,
                   occurred_at=utcnow(), event=event,
                   actor_kind=getattr(principal, "kind", None) if principal else "system",
                   actor_user_id=getattr(principal, "user_id", None),
                   actor_username=getattr(principal, "username", None),
                   method=method, ip=(audit.get("ip") or None), user_agent=(audit.get("user_agent") or None),
                   sha256=request.sha256, details=details or {}, prev_hash=request.evidence_head)
    if row.ip:
        row.ip = row.ip[:45]
    if row.user_agent:
        row.user_agent = row.user_agent[:500]
    row.hash = record_hash(row)
    session.add(row)
    request.evidence_count = row.seq
    request.evidence_head = row.hash
    session.flush()
    return row


def records(session, request_id: int) -> list[Evidence]:
    return list(session.scalars(sa.select(Evidence).where(Evidence.request_id == request_id)
                                .order_by(Evidence.seq, Evidence.id)
                                .execution_options(populate_existing=True)))


def verify(request: Request, rows: list[Evidence]) -> dict:
    """Check the chain; every problem found is listed with the record it concerns."""
    problems = []
    prev_hash = None
    expected_seq = 1
    for row in rows:
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                problems.append({"seq": expected_seq, "problem": "missing",
                                 "message": f"Record {expected_seq} ontbreekt."})
            else:
                problems.append({"seq": row.seq, "problem": "out_of_order",
                                 "message": f"Record {row.seq} staat niet op zijn plaats."})
        if row.prev_hash != prev_hash:
            problems.append({"seq": row.seq, "problem": "broken_link",
                             "message": f"Record {row.seq} sluit niet aan op het vorige record."})
        if record_hash(row) != row.hash:
            problems.append({"seq": row.seq, "problem": "altered",
                             "message": f"Record {row.seq} is gewijzigd."})
        if row.sha256 != request.sha256:
            problems.append({"seq": row.seq, "problem": "document_hash",
                             "message": f"Record {row.seq} hoort bij een ander document."})
        prev_hash = row.hash
        expected_seq = row.seq + 1
    count = request.evidence_count or 0
    if rows and rows[-1].seq < count or (not rows and count):
        first_missing = (rows[-1].seq + 1) if rows else 1
        problems.append({"seq": first_missing, "problem": "missing",
                         "message": f"Records {first_missing} tot en met {count} ontbreken."})
    if rows and prev_hash != request.evidence_head:
        problems.append({"seq": rows[-1].seq, "problem": "head_mismatch",
                         "message": "Het laatste record is niet het record dat als laatste werd vastgelegd."})
    return {"valid": not problems, "records": len(rows), "expected_records": count,
            "head": request.evidence_head, "problems": problems}


def view(row: Evidence) -> dict:
    return {"seq": row.seq, "occurred_at": iso(row.occurred_at), "event": row.event,
            "actor": {"kind": row.actor_kind, "user_id": row.actor_user_id, "username": row.actor_username},
            "method": row.method, "ip": row.ip, "user_agent": row.user_agent, "sha256": row.sha256,
            "details": row.details or {}, "prev_hash": row.prev_hash, "hash": row.hash}
