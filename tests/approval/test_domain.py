"""approval's rules on the real PostgreSQL database, without the broker: PDF checks, the
may/must rule, the state machine, one user counting once, concurrent approvals completing the
request exactly once, and the evidence chain detecting a changed or removed record."""
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from eventlet.event import Event

from approval import decisions, documents, evidence, requests, rights
from approval.exceptions import (AlreadyDecided, DocumentTooLarge, NoApprovers, NotAPdf, RequestClosed,
                                 RequestNotFound, UnknownDocumentType)
from approval.models import Evidence, Participant, Request, outbox
from chassis.principal import Principal
from tests.approval.helpers import OutboxEvents, b64, make_pdf, session_factory, tampering_as_table_owner

AUDIT = {"ip": "192.0.2.10", "user_agent": "pytest-browser/1.0"}


def _ids():
    base = uuid.uuid4().int % 10_000_000
    return base, base + 1  # firm, client


def _staff(firm_id, branch_id=None, rights_=("approval",)):
    return Principal(kind="staff", user_id=1, username="medewerker", firm_id=firm_id, branch_id=branch_id,
                     rights=tuple(rights_))


def _client_user(firm_id, client_id, user_id):
    return Principal(kind="client", user_id=user_id, username=f"user{user_id}", firm_id=firm_id,
                     client_ids=(client_id,), rights=("approval",))


def _user(uid, confirmation="pin", **extra):
    return dict({"id": uid, "name": f"Gebruiker {uid}", "username": f"user{uid}", "confirmation": confirmation,
                 "superuser": False, "active": True, "rights": ["approval"]}, **extra)


@pytest.fixture
def Session(db_engine):
    return session_factory(db_engine)


def _open(Session, users, explicit=(), document_type="annual_accounts"):
    firm_id, client_id = _ids()
    client = {"id": client_id, "firm_id": firm_id, "branch_id": 7, "number": "C-1", "name": "Bakkerij Jansen BV"}
    with Session() as s:
        for uid, dtype, right in explicit:
            rights.set_right(s, _staff(firm_id), client, users,
                             {"user_id": uid, "document_type": dtype, "right": right})
        result = requests.open_request(s, _staff(firm_id), client, users,
                                       {"client_id": client_id, "document_type": document_type,
                                        "title": "Jaarrekening 2025", "filename": "jaarrekening.pdf",
                                        "content_base64": b64(make_pdf())}, AUDIT, OutboxEvents(s))
        s.commit()
    return firm_id, client_id, result["approval_id"]


def _events(Session, request_id, event_type):
    with Session() as s:
        rows = s.execute(sa.select(outbox.c.payload).where(outbox.c.event_type == event_type)).scalars().all()
    return [r for r in rows if r["data"]["request_id"] == request_id]


# -- documents ---------------------------------------------------------------------

def test_pdf_is_checked_by_magic_bytes_and_parse():
    assert documents.check_pdf(make_pdf(pages=3)) == 3
    with pytest.raises(NotAPdf):
        documents.check_pdf(b"PK\x03\x04 this is a zip, not a pdf")
    with pytest.raises(NotAPdf):
        documents.check_pdf(b"%PDF-1.7\n" + b"garbage that no parser understands" * 20)
    with pytest.raises(DocumentTooLarge):
        documents.decode_content(b64(b"%PDF-" + b"0" * 2000), limit=1000)


def test_unknown_document_type_is_refused_and_firm_types_are_added(Session):
    firm_id, _ = _ids()
    with Session() as s:
        with pytest.raises(UnknownDocumentType):
            documents.require_type(s, firm_id, "jaarverslag_stichting")
        documents.add_type(s, _staff(firm_id), {"code": "jaarverslag_stichting", "name": "Jaarverslag stichting"})
        assert documents.require_type(s, firm_id, "jaarverslag_stichting") == "Jaarverslag stichting"
        assert documents.require_type(s, firm_id, "vat") == "Aangifte omzetbelasting"
        # another firm does not get it
        with pytest.raises(UnknownDocumentType):
            documents.require_type(s, firm_id + 999, "jaarverslag_stichting")
        s.rollback()


# -- the may/must rule -----------------------------------------------------------

def test_must_users_make_may_users_powerless():
    users = [_user(1, "sms"), _user(2, "sms"), _user(3), _user(4, rights=["news"])]
    explicit = {(1, "vat"): "must", (2, "vat"): "must"}
    rule, eligible, snap = rights.snapshot(users, explicit, "vat")
    assert rule == rights.ALL_MUST and [e["user_id"] for e in eligible] == [1, 2]
    rule, eligible, _ = rights.snapshot(users, explicit, "income_tax")
    assert rule == rights.ANY_MAY and [e["user_id"] for e in eligible] == [1, 2, 3]  # 4 lacks the module
    assert {r["user_id"]: r["right"] for r in snap} == {1: "must", 2: "must", 3: "may", 4: "none"}


def test_must_only_for_sms_users(Session):
    firm_id, client_id = _ids()
    client = {"id": client_id, "firm_id": firm_id, "branch_id": None}
    with Session() as s:
        from approval.exceptions import MustNeedsSms
        with pytest.raises(MustNeedsSms):
            rights.set_right(s, _staff(firm_id), client, [_user(1, "pin")],
                             {"user_id": 1, "document_type": "vat", "right": "must"})


def test_no_request_without_anyone_who_may_approve(Session):
    with pytest.raises(NoApprovers):
        _open(Session, [_user(1)], explicit=[(1, "annual_accounts", "none")])


def test_rights_are_fixed_when_the_request_opens(Session):
    users = [_user(1, "sms"), _user(2)]
    firm_id, client_id, rid = _open(Session, users, explicit=[(1, "annual_accounts", "must")])
    client = {"id": client_id, "firm_id": firm_id, "branch_id": 7}
    with Session() as s:
        changed = rights.set_right(s, _staff(firm_id), client, users,
                                   {"user_id": 1, "document_type": "annual_accounts", "right": "may"})
        s.commit()
    assert changed["open_requests_unchanged"] == [rid]
    with Session() as s:
        request = s.get(Request, rid)
        view = requests.view(s, _staff(firm_id), request)
    assert view["rule"] == "all_must" and [w["user_id"] for w in view["waiting_for"]] == [1]
    assert view["rights_changed"] and "heropen" in view["rights_changed_note"]
    # user 2 (may) is powerless for this open request: it does not even see it
    with Session() as s, pytest.raises(RequestNotFound):
        requests.visible(s, _client_user(firm_id, client_id, 2), rid)


# -- decisions and the state machine ---------------------------------------------

def test_one_user_counts_once_and_closed_requests_accept_nothing(Session):
    users = [_user(1, "sms"), _user(2, "sms")]
    firm_id, client_id, rid = _open(Session, users, explicit=[(1, "annual_accounts", "must"),
                                                             (2, "annual_accounts", "must")])
    one = _client_user(firm_id, client_id, 1)
    with Session() as s:
        out = decisions.record_approval(s, one, rid, "sms", AUDIT, OutboxEvents(s))
        s.commit()
    assert out["status"] == "pending" and [w["user_id"] for w in out["waiting_for"]] == [2]
    with Session() as s, pytest.raises(AlreadyDecided):
        decisions.record_approval(s, one, rid, "sms", AUDIT, OutboxEvents(s))
    with Session() as s:
        assert s.get(Request, rid).status == "pending"
        decided = s.scalars(sa.select(Participant).where(Participant.request_id == rid,
                                                         Participant.decision == "approved")).all()
        assert [p.user_id for p in decided] == [1]
    # staff withdraw it: nothing more is accepted, not even from the user still awaited
    with Session() as s:
        requests.withdraw(s, _staff(firm_id), rid, {"reason": "Verkeerde versie"}, AUDIT, OutboxEvents(s))
        s.commit()
    with Session() as s, pytest.raises(RequestClosed):
        decisions.record_approval(s, _client_user(firm_id, client_id, 2), rid, "sms", AUDIT, OutboxEvents(s))
    with Session() as s, pytest.raises(RequestClosed):
        requests.withdraw(s, _staff(firm_id), rid, {}, AUDIT, OutboxEvents(s))
    assert len(_events(Session, rid, "request_withdrawn")) == 1
    assert _events(Session, rid, "request_approved") == []


def _approve_in_green_thread(Session, principal, rid, started: Event | None = None, hold: float = 0.0):
    with Session() as s:
        out = decisions.record_approval(s, principal, rid, "sms", AUDIT, OutboxEvents(s))
        if started is not None:
            started.send(True)
        eventlet.sleep(hold)  # keep the transaction (and its row lock) open a while
        s.commit()
    return out


def test_two_must_users_approving_at_once_both_count_and_complete_once(Session):
    users = [_user(1, "sms"), _user(2, "sms")]
    firm_id, client_id, rid = _open(Session, users, explicit=[(1, "annual_accounts", "must"),
                                                             (2, "annual_accounts", "must")])
    first_in = Event()
    a = eventlet.spawn(_approve_in_green_thread, Session, _client_user(firm_id, client_id, 1), rid, first_in, 0.3)
    first_in.wait()  # A has approved but not committed; B now runs into A's row lock
    b = eventlet.spawn(_approve_in_green_thread, Session, _client_user(firm_id, client_id, 2), rid)
    results = [a.wait(), b.wait()]
    assert sorted(r["status"] for r in results) == ["approved", "pending"]
    with Session() as s:
        request = s.get(Request, rid)
        assert request.status == "approved"
        assert sorted(p.decision for p in s.scalars(sa.select(Participant).where(Participant.request_id == rid))) \
            == ["approved", "approved"]
        completed = s.scalars(sa.select(Evidence).where(Evidence.request_id == rid,
                                                        Evidence.event == "completed")).all()
        assert len(completed) == 1
        assert evidence.verify(request, evidence.records(s, rid))["valid"]
    assert len(_events(Session, rid, "request_approved")) == 1


def test_simultaneous_approvals_many_rounds(Session):
    """No staged ordering: N must users approve at the same instant, several rounds."""
    for _ in range(3):
        users = [_user(u, "sms") for u in (1, 2, 3)]
        firm_id, client_id, rid = _open(Session, users, explicit=[(u, "annual_accounts", "must") for u in (1, 2, 3)])
        go = Event()

        def approve(uid):
            go.wait()
            return _approve_in_green_thread(Session, _client_user(firm_id, client_id, uid), rid)

        threads = [eventlet.spawn(approve, uid) for uid in (1, 2, 3)]
        eventlet.sleep(0)
        go.send(True)
        results = [t.wait() for t in threads]
        assert sorted(r["status"] for r in results) == ["approved", "pending", "pending"]
        assert len(_events(Session, rid, "request_approved")) == 1


def test_any_may_user_completes_and_the_second_is_refused(Session):
    users = [_user(1), _user(2)]
    firm_id, client_id, rid = _open(Session, users)
    go = Event()

    def approve(uid):
        go.wait()
        try:
            return _approve_in_green_thread(Session, _client_user(firm_id, client_id, uid), rid)["status"]
        except RequestClosed:
            return "refused"

    threads = [eventlet.spawn(approve, uid) for uid in (1, 2)]
    eventlet.sleep(0)
    go.send(True)
    assert sorted(t.wait() for t in threads) == ["approved", "refused"]
    assert len(_events(Session, rid, "request_approved")) == 1


# -- evidence ----------------------------------------------------------------------

def test_evidence_chain_detects_changed_and_removed_records(Session, db_engine):
    users = [_user(1, "sms"), _user(2, "sms")]
    firm_id, client_id, rid = _open(Session, users, explicit=[(1, "annual_accounts", "must"),
                                                             (2, "annual_accounts", "must")])
    with Session() as s:
        requests.document_for(s, _client_user(firm_id, client_id, 1), rid, AUDIT)  # viewed
        s.commit()
    for uid in (1, 2):
        with Session() as s:
            decisions.record_approval(s, _client_user(firm_id, client_id, uid), rid, "sms", AUDIT, OutboxEvents(s))
            s.commit()
    with Session() as s:
        export = requests.export(s, _staff(firm_id), rid)
    assert [r["event"] for r in export["records"]] == ["created", "viewed", "approved", "approved", "completed"]
    assert export["verification"]["valid"] is True
    first = export["records"][0]
    assert first["occurred_at"].endswith("Z") and first["ip"] == "192.0.2.10"
    assert first["user_agent"] == "pytest-browser/1.0" and first["sha256"] == export["document"]["sha256"]
    assert all(r["prev_hash"] == p["hash"] for p, r in zip(export["records"], export["records"][1:]))

    def problems():
        with Session() as s:
            return requests.export(s, _staff(firm_id), rid)["verification"]

    # someone edits a record in the database
    with tampering_as_table_owner(db_engine) as conn:
        conn.execute(sa.text("UPDATE approval.evidence SET ip = '203.0.113.99' WHERE request_id = :r AND seq = 3"),
                     {"r": rid})
    result = problems()
    assert not result["valid"]
    assert {"seq": 3, "problem": "altered"} in [{k: p[k] for k in ("seq", "problem")} for p in result["problems"]]
    with tampering_as_table_owner(db_engine) as conn:
        conn.execute(sa.text("UPDATE approval.evidence SET ip = '192.0.2.10' WHERE request_id = :r AND seq = 3"),
                     {"r": rid})
    assert problems()["valid"]

    # someone removes a record from the middle
    with tampering_as_table_owner(db_engine) as conn:
        conn.execute(sa.text("DELETE FROM approval.evidence WHERE request_id = :r AND seq = 2"), {"r": rid})
    result = problems()
    assert not result["valid"]
    kinds = {(p["seq"], p["problem"]) for p in result["problems"]}
    assert (2, "missing") in kinds and (3, "broken_link") in kinds

    # and the last one: only the count and head kept on the request reveal it
    with tampering_as_table_owner(db_engine) as conn:
        conn.execute(sa.text("DELETE FROM approval.evidence WHERE request_id = :r AND seq = 5"), {"r": rid})
    result = problems()
    assert (5, "missing") in {(p["seq"], p["problem"]) for p in result["problems"]}


def test_evidence_records_cannot_be_changed_or_removed_through_the_database(Session, db_engine):
    """Append-only in the database itself (migration approval 0003), not only detected afterwards."""
    users = [_user(1, "sms")]
    _firm_id, _client_id, rid = _open(Session, users, explicit=[(1, "annual_accounts", "may")])
    for statement in ("UPDATE approval.evidence SET ip = '203.0.113.99' WHERE request_id = :r",
                      "DELETE FROM approval.evidence WHERE request_id = :r",
                      "TRUNCATE approval.evidence CASCADE"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with db_engine.begin() as conn:
                conn.execute(sa.text(statement), {"r": rid})
    with Session() as s:
        assert [r.event for r in s.scalars(sa.select(Evidence).where(Evidence.request_id == rid))] == ["created"]
