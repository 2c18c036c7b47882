"""Filing approved annual accounts with the KvK through the Digipoort simulator, end to end:
gateway → filing → approval (approved document) + identity (client's KvK) → channel → status."""
import sqlalchemy as sa

from filing.models import outbox
from tests.approval.helpers import World, add_staff, wait_for


def approved_accounts(world, client, document_type="annual_accounts"):
    user = world.user(client["id"], "Anna Jansen", confirmation="pin")
    created = world.upload(world.admin, client["id"], document_type=document_type)
    assert created.status_code == 201, created.text
    request_id = created.json()["approval_id"]
    approved = user["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": user["pin"]})
    assert approved.json()["status"] == "approved", approved.text
    return request_id


def with_kvk(world, client, kvk):
    return world.portal.rpc.identity.update_client(principal=world.admin_principal, client_id=client["id"],
                                                   payload={"kvk": kvk})


def test_file_approved_accounts_accepted_asynchronously(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client("Bakkerij Jansen BV")
    with_kvk(w, client, "01234567")
    request_id = approved_accounts(w, client)

    filed = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert filed.status_code == 202, filed.text
    filing = filed.json()
    assert filing["status"] == "submitted" and filing["kvk"] == "01234567"
    assert filing["reference"].startswith("DP-")

    done = wait_for(lambda: (lambda f: f if f["status"] != "submitted" else None)(
        w.admin.get(f"/api/v1/filings/{filing['id']}").json()), timeout=20)
    assert done["status"] == "accepted" and done["status_label"] == "Gedeponeerd"

    # Filing the same document again while it is accepted is a conflict, not a second submission.
    again = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert again.status_code == 409 and again.json()["error"] == "already_filed"
    with db_engine.connect() as conn:
        payloads = conn.execute(sa.select(outbox.c.payload)).scalars().all()
    # the database is shared by the run: count this filing's events only
    types = [p["event_type"] for p in payloads if p["data"]["filing_id"] == filing["id"]]
    assert types.count("filing_accepted") == 1 and types.count("filing_submitted") == 1
    listed = w.admin.get("/api/v1/filings", params={"client_id": client["id"]}).json()
    assert [f["id"] for f in listed["items"]] == [filing["id"]]


def test_kvk_rejects_without_kvk_number_and_it_can_be_filed_again(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client("Zonder KvK BV")
    request_id = approved_accounts(w, client)
    filing = w.admin.post("/api/v1/filings", json={"approval_id": request_id}).json()
    done = wait_for(lambda: (lambda f: f if f["status"] != "submitted" else None)(
        w.admin.get(f"/api/v1/filings/{filing['id']}").json()), timeout=20)
    assert done["status"] == "rejected" and "KvK-nummer" in done["message"]

    with_kvk(w, client, "7654321")  # Excel lost the leading zero; identity pads it
    retry = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert retry.status_code == 202, retry.text
    assert retry.json()["kvk"] == "07654321"


def test_only_approved_annual_accounts_by_staff_with_the_filing_right(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client("Bakkerij Jansen BV")
    with_kvk(w, client, "01234567")
    tax = approved_accounts(w, client, document_type="income_tax")
    refused = w.admin.post("/api/v1/filings", json={"approval_id": tax})
    assert refused.status_code == 422 and refused.json()["error"] == "not_annual_accounts"

    pending = w.upload(w.admin, client["id"]).json()["approval_id"]
    not_yet = w.admin.post("/api/v1/filings", json={"approval_id": pending})
    assert not_yet.status_code == 409

    clerk = add_staff(w, 0, rights=("approval", "documents"))  # no filing right
    assert clerk["api"].post("/api/v1/filings", json={"approval_id": pending}).status_code == 403

    # Staff of the other branch with the filing right do not see this client's request.
    other = add_staff(w, 1, rights=("approval", "documents", "filing"))
    request_id = approved_accounts(w, w.client("Tweede BV"))
    hidden = other["api"].post("/api/v1/filings", json={"approval_id": request_id})
    assert hidden.status_code == 404
    filed = w.admin.post("/api/v1/filings", json={"approval_id": request_id}).json()
    assert other["api"].get(f"/api/v1/filings/{filed['id']}").status_code == 404
    assert w.admin.get("/api/v1/filings/999999").status_code == 404
