"""The approval flow end to end: HTTP → gateway → approval ⇄ identity (PIN, SMS code via notify and
the twilio fake) ⇄ letters (certificate), PostgreSQL and RabbitMQ all real."""
import base64
import hashlib
import logging

import pytest
import sqlalchemy as sa

from approval.models import outbox
from chassis.errors import AkkoordError
from tests.fixtures import shows_secret
from tests.approval.helpers import World, make_pdf, pdf_text

BROWSER = {"User-Agent": "Mozilla/5.0 (akkoord-test)"}


def _events(db_engine, request_id, event_type):
    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.payload).where(outbox.c.event_type == event_type)).scalars().all()
    return [r["data"] for r in rows if r["data"]["request_id"] == request_id]


def test_staff_upload_then_client_views_and_approves_with_pin(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client("Bakkerij Jansen BV")
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    anna["api"].headers.update(BROWSER)

    # not a PDF, and a PDF header on garbage: refused with a reason
    bad = w.upload(w.admin, client["id"], data=b"PK\x03\x04 a zip pretending")
    assert bad.status_code == 422 and bad.json()["error"] == "not_a_pdf"
    fake = w.upload(w.admin, client["id"], data=b"%PDF-1.7\n" + b"rommel " * 100)
    assert fake.status_code == 422 and fake.json()["error"] == "not_a_pdf"
    unknown_type = w.upload(w.admin, client["id"], document_type="horoscoop")
    assert unknown_type.status_code == 422 and unknown_type.json()["error"] == "unknown_document_type"
    # a client user cannot offer documents
    assert w.upload(anna["api"], client["id"]).status_code == 403

    pdf = make_pdf("Jaarrekening 2025 Bakkerij Jansen")
    created = w.upload(w.admin, client["id"], data=pdf)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sha256"] == hashlib.sha256(pdf).hexdigest()
    request_id = body["approval_id"]

    screen = anna["api"].get("/api/v1/approvals", params={"status": "pending"})
    assert screen.status_code == 200, screen.text
    [item] = screen.json()["items"]
    assert item["id"] == request_id and item["client"]["name"] == "Bakkerij Jansen BV"
    assert item["client"]["number"] == client["number"] and item["document_type"] == "annual_accounts"
    assert item["title"] == "Jaarrekening 2025" and item["approved_by"] == []
    assert [p["user_id"] for p in item["waiting_for"]] == [anna["id"]]

    download = anna["api"].get(f"/api/v1/approvals/{request_id}/document")
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/pdf"
    assert download.content == pdf

    wrong = anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": "000000"
                             if anna["pin"] != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.json()["error"] == "wrong_pin"
    assert not shows_secret(wrong.text, "000000") and not shows_secret(wrong.text, anna["pin"])

    approved = anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["waiting_for"] == []
    assert [p["user_id"] for p in approved.json()["approved_by"]] == [anna["id"]]

    for_filing = approval_portal.rpc.approval.approved_document(principal=w.admin_principal, request_id=request_id)
    assert base64.b64decode(for_filing["pdf_base64"]) == pdf and for_filing["sha256"] == body["sha256"]

    again = anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]})
    assert again.status_code == 409
    assert anna["api"].get("/api/v1/approvals").json()["items"] == []
    done = anna["api"].get("/api/v1/approvals", params={"status": "approved"}).json()["items"]
    assert [i["id"] for i in done] == [request_id]

    evidence = w.admin.get(f"/api/v1/approvals/{request_id}/evidence")
    assert evidence.status_code == 200, evidence.text
    export = evidence.json()
    assert [r["event"] for r in export["records"]] == ["created", "viewed", "approved", "completed"]
    assert export["verification"]["valid"] is True
    viewed, approval = export["records"][1], export["records"][2]
    assert viewed["actor"]["user_id"] == anna["id"] and viewed["user_agent"] == BROWSER["User-Agent"]
    assert approval["method"] == "pin" and approval["ip"] and approval["sha256"] == body["sha256"]
    assert approval["occurred_at"].endswith("Z")
    assert not shows_secret(evidence.text, anna["pin"])

    certificate = w.admin.get(f"/api/v1/approvals/{request_id}/evidence", params={"format": "pdf"})
    assert certificate.status_code == 200, certificate.text
    assert certificate.headers["Content-Type"] == "application/pdf"
    text = pdf_text(certificate.content)
    assert "Bewijs van accordering" in text and body["sha256"] in text.replace("\n", "")

    assert len(_events(db_engine, request_id, "request_opened")) == 1
    opened = _events(db_engine, request_id, "request_opened")[0]
    assert opened["approver_user_ids"] == [anna["id"]] and opened["client_id"] == client["id"]
    assert [e["by_user_id"] for e in _events(db_engine, request_id, "request_approved")] == [anna["id"]]


def test_must_users_confirm_by_sms_and_may_users_lose_their_say(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client("Jansen Holding BV")
    mark = w.user(client["id"], "Mark Jansen", mobile="+31612345671")
    mila = w.user(client["id"], "Mila Jansen", mobile="+31612345672")
    piet = w.user(client["id"], "Piet Jansen", confirmation="pin")
    w.tokens([mark, mila], "sms")

    rights = f"/api/v1/clients/{client['id']}/approval-rights"
    refused = w.admin.put(rights, json={"user_id": piet["id"], "document_type": "corporate_tax", "right": "must"})
    assert refused.status_code == 422 and refused.json()["error"] == "must_needs_sms"
    for user in (mark, mila):
        r = w.admin.put(rights, json={"user_id": user["id"], "document_type": "corporate_tax", "right": "must"})
        assert r.status_code == 200, r.text
    matrix = w.admin.get(rights).json()
    assert matrix["rules"]["corporate_tax"] == {"rule": "all_must", "approvers": sorted([mark["id"], mila["id"]])}
    assert matrix["rules"]["vat"]["rule"] == "any_may"

    created = w.upload(w.admin, client["id"], document_type="corporate_tax", title="Aangifte Vpb 2025")
    assert created.status_code == 201, created.text
    request_id = created.json()["approval_id"]
    assert sorted(created.json()["approver_user_ids"]) == sorted([mark["id"], mila["id"]])

    # Piet may approve other types, but is powerless here: he does not see it
    assert piet["api"].get("/api/v1/approvals").json()["items"] == []
    assert piet["api"].get(f"/api/v1/approvals/{request_id}").status_code == 404
    assert piet["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": piet["pin"]}).status_code == 404

    # a code is needed, and a PIN is not Mark's method
    assert mark["api"].post(f"/api/v1/approvals/{request_id}/approve", json={}).status_code == 422
    sent = mark["api"].post(f"/api/v1/approvals/{request_id}/sms")
    assert sent.status_code == 202, sent.text
    code = w.sms_code(mark, after=0)
    wrong = mark["api"].post(f"/api/v1/approvals/{request_id}/approve",
                             json={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.json()["error"] == "wrong_code"
    first = mark["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": code})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending"
    assert [p["user_id"] for p in first.json()["waiting_for"]] == [mila["id"]]
    assert [p["user_id"] for p in first.json()["approved_by"]] == [mark["id"]]

    # one user counts once, however often it clicks
    twice = mark["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": code})
    assert twice.status_code == 409 and twice.json()["error"] == "already_decided"
    assert mark["api"].post(f"/api/v1/approvals/{request_id}/sms").status_code == 409

    # a code belongs to the user it was sent to: Mila cannot use Mark's
    stolen = mila["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": code})
    assert stolen.status_code == 422
    mila["api"].post(f"/api/v1/approvals/{request_id}/sms")
    done = mila["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": w.sms_code(mila, after=0)})
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert len(_events(db_engine, request_id, "request_approved")) == 1

    events = [r["event"] for r in w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["records"]]
    assert events.count("code_sent") == 2 and events.count("approved") == 2 and events[-1] == "completed"


def test_decline_withdraw_and_a_corrected_document(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")

    first = w.upload(w.admin, client["id"], document_type="income_tax", title="IB 2025").json()["approval_id"]
    no_reason = anna["api"].post(f"/api/v1/approvals/{first}/decline", json={"pin": anna["pin"]})
    assert no_reason.status_code == 422
    declined = anna["api"].post(f"/api/v1/approvals/{first}/decline",
                                json={"pin": anna["pin"], "reason": "De hypotheekrente ontbreekt."})
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    late = anna["api"].post(f"/api/v1/approvals/{first}/approve", json={"pin": anna["pin"]})
    assert late.status_code == 409 and late.json()["error"] == "request_closed"
    assert [e["by_user_id"] for e in _events(db_engine, first, "request_declined")] == [anna["id"]]
    assert w.admin.get(f"/api/v1/approvals/{first}").json()["reason"] == "De hypotheekrente ontbreekt."

    second = w.upload(w.admin, client["id"], title="Jaarrekening 2025 v1").json()["approval_id"]
    with pytest.raises(AkkoordError) as not_yet:  # filing cannot take what is not approved
        approval_portal.rpc.approval.approved_document(principal=w.admin_principal, request_id=second)
    assert not_yet.value.code == "request_closed"
    assert anna["api"].post(f"/api/v1/approvals/{second}/withdraw", json={}).status_code == 403
    # the corrected document replaces the open request: the old one is withdrawn, its evidence stays
    corrected = w.upload(w.admin, client["id"], title="Jaarrekening 2025 v2", replaces_request_id=second)
    assert corrected.status_code == 201, corrected.text
    third = corrected.json()["approval_id"]
    old = w.admin.get(f"/api/v1/approvals/{second}").json()
    assert old["status"] == "withdrawn" and old["replaced_by_id"] == third
    assert w.admin.get(f"/api/v1/approvals/{third}").json()["replaces_id"] == second
    old_evidence = w.admin.get(f"/api/v1/approvals/{second}/evidence").json()
    assert [r["event"] for r in old_evidence["records"]] == ["created", "withdrawn"]
    assert old_evidence["verification"]["valid"]
    assert len(_events(db_engine, second, "request_withdrawn")) == 1
    assert anna["api"].post(f"/api/v1/approvals/{second}/approve", json={"pin": anna["pin"]}).status_code == 409
    assert [i["id"] for i in anna["api"].get("/api/v1/approvals").json()["items"]] == [third]

    # a firm adds its own document type; it is offered and approved like the built-in ones
    added = w.admin.post("/api/v1/document-types", json={"code": "jaarverslag_stichting",
                                                         "name": "Jaarverslag stichting"})
    assert added.status_code == 201, added.text
    assert w.admin.post("/api/v1/document-types", json={"code": "vat", "name": "Dubbel"}).status_code == 409
    assert anna["api"].post("/api/v1/document-types", json={"code": "eigen_type", "name": "X"}).status_code == 403
    types = {t["code"]: t for t in anna["api"].get("/api/v1/document-types").json()["items"]}
    assert types["jaarverslag_stichting"]["builtin"] is False and types["payroll_tax"]["builtin"] is True
    own = w.upload(w.admin, client["id"], document_type="jaarverslag_stichting", title="Jaarverslag 2025")
    assert own.status_code == 201, own.text
    listed = {i["id"]: i for i in anna["api"].get("/api/v1/approvals").json()["items"]}
    assert listed[own.json()["approval_id"]]["document_type_name"] == "Jaarverslag stichting"

    withdrawn = w.admin.post(f"/api/v1/approvals/{third}/withdraw", json={"reason": "Cijfers wijzigen nog."})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert w.admin.post(f"/api/v1/approvals/{third}/withdraw", json={}).status_code == 409
    assert anna["api"].post(f"/api/v1/approvals/{third}/decline",
                            json={"pin": anna["pin"], "reason": "x"}).status_code == 409


def test_wrong_secrets_count_and_lock_as_identity_decides(approval_portal, fake_twilio, caplog):
    """identity counts and locks; approval passes its verdicts on under its own error codes;
    no secret is written to the logs on the way."""
    caplog.set_level(logging.DEBUG)
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    sam = w.user(client["id"], "Sam Jansen", mobile="+31612345688")
    w.tokens([sam], "sms")
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]
    wrong_pin = f"{(int(anna['pin']) + 1) % 1_000_000:06d}"
    codes = [anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": wrong_pin}).json()["error"]
             for _ in range(10)]
    assert codes == ["wrong_pin"] * 9 + ["pin_locked"]
    locked = anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]})
    assert locked.status_code == 429 and locked.json()["error"] == "pin_locked"  # SPEC §4: too many tries
    assert "Retry-After" not in locked.headers  # waiting does not help: staff reissue the PIN

    assert sam["api"].post(f"/api/v1/approvals/{request_id}/sms").status_code == 202
    code = w.sms_code(sam, after=0)
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [sam["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": wrong_code}).json()["error"]
               for _ in range(5)]
    assert answers == ["wrong_code"] * 4 + ["code_expired"]
    dead = sam["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": code})
    assert dead.status_code == 422 and dead.json()["error"] == "code_expired"
    status = w.admin.get(f"/api/v1/approvals/{request_id}").json()
    assert status["status"] == "pending" and status["approved_by"] == []
    ours = ("approval", "gateway", "identity", "chassis", "nameko")
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith(ours))
    assert "approval.approve" in logged  # the workers were logged ...
    for secret in (anna["pin"], wrong_pin, code, wrong_code):
        assert not shows_secret(logged, secret)  # ... but none of the secrets
