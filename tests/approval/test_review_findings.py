"""Defects found in review, each shown end to end: a blank decline reason, a `must` user moved to
PIN who could never confirm, and a stored document swapped behind the evidence's back."""
import base64

import sqlalchemy as sa

from tests.approval.helpers import World, make_pdf


def test_a_decline_needs_a_real_reason(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]

    for blank in (" ", "   \n\t "):
        refused = anna["api"].post(f"/api/v1/approvals/{request_id}/decline",
                                   json={"pin": anna["pin"], "reason": blank})
        assert refused.status_code == 422, refused.text
        assert "reden" in refused.text.lower()
    still = w.admin.get(f"/api/v1/approvals/{request_id}").json()
    assert still["status"] == "pending" and still["declined_by"] == []

    declined = anna["api"].post(f"/api/v1/approvals/{request_id}/decline",
                                json={"pin": anna["pin"], "reason": "  De cijfers kloppen niet.  "})
    assert declined.status_code == 200, declined.text
    assert declined.json()["reason"] == "De cijfers kloppen niet."


def test_a_must_user_moved_to_pin_does_not_leave_a_request_nobody_can_complete(approval_portal, fake_twilio):
    """`must` is SMS-only; a must user the firm later moved to PIN can confirm neither way, so a request
    opened with that user as a must approver would stay pending for ever. Opening it is refused instead,
    naming who to fix."""
    w = World(approval_portal, fake_twilio)
    client = w.client("Jansen Holding BV")
    mark = w.user(client["id"], "Mark Jansen", mobile="+31612340201")
    w.tokens([mark], "sms")
    rights = f"/api/v1/clients/{client['id']}/approval-rights"
    assert w.admin.put(rights, json={"user_id": mark["id"], "document_type": "corporate_tax",
                                     "right": "must"}).status_code == 200
    w.tokens([mark], "pin")  # the firm moves Mark to a PIN letter; his stored `must` stays

    refused = w.upload(w.admin, client["id"], document_type="corporate_tax", title="Vpb 2025")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "must_needs_sms" and "Mark Jansen" in refused.json()["message"]
    assert w.admin.get("/api/v1/approvals").json()["total"] == 0

    # once the right fits the method again, the document goes out and Mark can approve it
    assert w.admin.put(rights, json={"user_id": mark["id"], "document_type": "corporate_tax",
                                     "right": "may"}).status_code == 200
    created = w.upload(w.admin, client["id"], document_type="corporate_tax", title="Vpb 2025")
    assert created.status_code == 201, created.text
    done = mark["api"].post(f"/api/v1/approvals/{created.json()['approval_id']}/approve", json={"pin": mark["pin"]})
    assert done.status_code == 200 and done.json()["status"] == "approved", done.text


def test_a_swapped_document_is_detected_and_never_served_as_the_approved_one(approval_portal, fake_twilio,
                                                                            db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    original = make_pdf("Jaarrekening 2025, winst 10.000")
    created = w.upload(w.admin, client["id"], data=original).json()
    request_id = created["approval_id"]
    assert anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]}).ok

    # someone with database access swaps the approved PDF for another one
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE approval.documents SET content = :c WHERE id = :d"),
                     {"c": make_pdf("Jaarrekening 2025, winst 99.000"), "d": created["id"]})

    verification = w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["verification"]
    assert verification["valid"] is False
    assert "document_altered" in {p["problem"] for p in verification["problems"]}
    download = anna["api"].get(f"/api/v1/approvals/{request_id}/document")
    assert download.status_code == 409 and download.json()["error"] == "document_altered", download.text
    filed = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert filed.status_code == 409 and filed.json()["error"] == "document_altered", filed.text

    # put back, all is well again
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE approval.documents SET content = :c WHERE id = :d"),
                     {"c": original, "d": created["id"]})
    assert w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["verification"]["valid"] is True
    again = anna["api"].get(f"/api/v1/approvals/{request_id}/document")
    assert again.status_code == 200 and again.content == original
    assert base64.b64decode(approval_portal.rpc.approval.approved_document(
        principal=w.admin_principal, request_id=request_id)["pdf_base64"]) == original


def test_a_corrected_document_replaces_only_a_request_of_its_own_type(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    w.user(client["id"], "Anna Jansen", confirmation="pin")
    accounts = w.upload(w.admin, client["id"], title="Jaarrekening 2025").json()["approval_id"]

    wrong = w.upload(w.admin, client["id"], document_type="vat", title="Btw Q3", replaces_request_id=accounts)
    assert wrong.status_code == 422 and wrong.json()["error"] == "invalid", wrong.text
    old = w.admin.get(f"/api/v1/approvals/{accounts}").json()
    assert old["status"] == "pending" and old["replaced_by_id"] is None
    assert w.admin.get("/api/v1/approvals").json()["total"] == 1

    right = w.upload(w.admin, client["id"], title="Jaarrekening 2025 v2", replaces_request_id=accounts)
    assert right.status_code == 201, right.text


def test_a_user_without_the_approval_module_approves_nothing(approval_portal, fake_twilio):
    """The `approval` module right is what lets a client user approve at all: taking it away ends the say
    that an explicit may/must right gave, for new requests and for those already open."""
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    bram = w.user(client["id"], "Bram Jansen", mobile="+31612340301")
    w.tokens([bram], "sms")
    assert w.admin.put(f"/api/v1/clients/{client['id']}/approval-rights",
                       json={"user_id": bram["id"], "document_type": "annual_accounts", "right": "must"}).ok
    open_before = w.upload(w.admin, client["id"], document_type="income_tax", title="IB 2025").json()
    assert bram["id"] in open_before["approver_user_ids"]
    assert bram["api"].post(f"/api/v1/approvals/{open_before['approval_id']}/sms").status_code == 202
    code = w.sms_code(bram, after=0)

    rights = bram["api"].get("/api/v1/me").json()["rights"]
    assert "approval" in rights
    revoked = w.admin.patch(f"/api/v1/users/{bram['id']}", json={"rights": [r for r in rights if r != "approval"]})
    assert revoked.status_code == 200, revoked.text

    assert bram["api"].get("/api/v1/approvals").json() == {"items": [], "total": 0, "page": 1, "per_page": 50}
    late = bram["api"].post(f"/api/v1/approvals/{open_before['approval_id']}/approve", json={"code": code})
    assert late.status_code == 403 and late.json()["error"] == "not_eligible", late.text
    assert w.admin.get(f"/api/v1/approvals/{open_before['approval_id']}").json()["status"] == "pending"

    created = w.upload(w.admin, client["id"], title="Jaarrekening 2025").json()
    assert created["rule"] == "any_may" and created["approver_user_ids"] == [anna["id"]], created
    matrix = w.admin.get(f"/api/v1/clients/{client['id']}/approval-rights").json()
    assert matrix["rules"]["annual_accounts"] == {"rule": "any_may", "approvers": [anna["id"]]}
