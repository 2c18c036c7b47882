"""A client that moves to another branch takes its filings along: the old branch's staff no longer
see them, the new branch's staff do (filing keeps the client's branch from identity's events)."""
from tests.approval.helpers import World, add_staff, wait_for
from tests.filing.test_filing import approved_accounts, with_kvk

FILING_STAFF = ("approval", "documents", "filing")


def test_filings_follow_the_client_to_its_new_branch(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    utrecht = w.branch_ids[1]
    client = w.client("Verhuizer BV", branch_index=0)
    with_kvk(w, client, "01234567")
    first = approved_accounts(w, client)
    ams, utr = add_staff(w, 0, FILING_STAFF), add_staff(w, 1, FILING_STAFF)
    filed = ams["api"].post("/api/v1/filings", json={"approval_id": first})
    assert filed.status_code == 202, filed.text
    filing_id = filed.json()["id"]
    assert utr["api"].get(f"/api/v1/filings/{filing_id}").status_code == 404

    moved = w.admin.patch(f"/api/v1/clients/{client['id']}", json={"branch_id": utrecht})
    assert moved.status_code == 200, moved.text
    wait_for(lambda: utr["api"].get(f"/api/v1/filings/{filing_id}").status_code == 200)
    assert utr["api"].get(f"/api/v1/filings/{filing_id}").json()["branch_id"] == utrecht
    assert ams["api"].get(f"/api/v1/filings/{filing_id}").status_code == 404
    assert ams["api"].get("/api/v1/filings", params={"client_id": client["id"]}).json()["items"] == []
    assert [f["id"] for f in utr["api"].get("/api/v1/filings").json()["items"]] == [filing_id]

    # the next filing of this client is Utrecht's, filed by Utrecht; Amsterdam cannot file it
    wait_for(lambda: utr["api"].get(f"/api/v1/approvals/{first}").status_code == 200)
    second = approved_accounts(w, client)
    assert ams["api"].post("/api/v1/filings", json={"approval_id": second}).status_code == 404
    again = utr["api"].post("/api/v1/filings", json={"approval_id": second})
    assert again.status_code == 202 and again.json()["branch_id"] == utrecht, again.text
