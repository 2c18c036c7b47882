"""Duplicate filings found in review: the same annual accounts reach the KvK only once, and accounts
that staff have since replaced by a corrected version are not filed."""
from tests.approval.helpers import World, make_pdf
from tests.filing.test_filing import with_kvk


def _approve(w, user, request_id):
    done = user["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": user["pin"]})
    assert done.status_code == 200 and done.json()["status"] == "approved", done.text


def test_the_same_accounts_approved_twice_are_filed_once(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client("Bakkerij Jansen BV")
    with_kvk(w, client, "01234567")
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    pdf = make_pdf("Jaarrekening 2025 Bakkerij Jansen")
    # uploaded twice by mistake, and the client approved both
    first, second = (w.upload(w.admin, client["id"], data=pdf).json()["approval_id"] for _ in range(2))
    _approve(w, anna, first)
    _approve(w, anna, second)

    filed = w.admin.post("/api/v1/filings", json={"approval_id": first})
    assert filed.status_code == 202, filed.text
    twice = w.admin.post("/api/v1/filings", json={"approval_id": second})
    assert twice.status_code == 409 and twice.json()["error"] == "already_filed", twice.text
    assert twice.json()["details"]["filing_id"] == filed.json()["id"]
    assert [f["id"] for f in w.admin.get("/api/v1/filings", params={"client_id": client["id"]}).json()["items"]] \
        == [filed.json()["id"]]


def test_accounts_replaced_by_a_corrected_version_are_not_filed(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client("Bakkerij Jansen BV")
    with_kvk(w, client, "01234567")
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    old = w.upload(w.admin, client["id"], title="Jaarrekening 2025 v1").json()["approval_id"]
    _approve(w, anna, old)
    corrected = w.upload(w.admin, client["id"], title="Jaarrekening 2025 v2", replaces_request_id=old)
    assert corrected.status_code == 201, corrected.text
    new = corrected.json()["approval_id"]
    _approve(w, anna, new)

    refused = w.admin.post("/api/v1/filings", json={"approval_id": old})
    assert refused.status_code == 409 and refused.json()["error"] == "request_closed", refused.text
    assert "vervangen" in refused.json()["message"]
    assert w.admin.post("/api/v1/filings", json={"approval_id": new}).status_code == 202
