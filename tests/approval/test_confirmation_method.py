"""Every decision is confirmed by the user's own method (SPEC §3), never the one the request body
names: a user who confirms by SMS cannot approve or decline with a PIN (a left-over PIN included),
a `must` right is SMS-only, and a PIN user gets no SMS code."""
from tests.approval.helpers import World


def _status(w, request_id):
    return w.admin.get(f"/api/v1/approvals/{request_id}").json()


def test_must_sms_user_cannot_approve_or_decline_with_a_left_over_pin(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client("Jansen Holding BV")
    # Mark had a PIN letter first, then the firm switched him to SMS: his old PIN must not count.
    mark = w.user(client["id"], "Mark Jansen", mobile="+31612340101", confirmation="pin")
    pin = mark["pin"]
    w.tokens([mark], "sms")
    must = w.admin.put(f"/api/v1/clients/{client['id']}/approval-rights",
                       json={"user_id": mark["id"], "document_type": "corporate_tax", "right": "must"})
    assert must.status_code == 200, must.text
    request_id = w.upload(w.admin, client["id"], document_type="corporate_tax", title="Vpb 2025").json()["approval_id"]

    with_pin = mark["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": pin})
    assert with_pin.status_code == 422, with_pin.text
    assert with_pin.json()["error"] == "confirmation_required" and "sms-code" in with_pin.json()["message"]
    declined = mark["api"].post(f"/api/v1/approvals/{request_id}/decline", json={"pin": pin, "reason": "Nee."})
    assert declined.status_code == 422 and declined.json()["error"] == "confirmation_required", declined.text
    still = _status(w, request_id)
    assert still["status"] == "pending" and still["approved_by"] == [] and still["declined_by"] == []

    # the SMS code is the way
    assert mark["api"].post(f"/api/v1/approvals/{request_id}/sms").status_code == 202
    done = mark["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": w.sms_code(mark, after=0)})
    assert done.status_code == 200 and done.json()["status"] == "approved", done.text
    records = w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["records"]
    assert [r["method"] for r in records if r["event"] == "approved"] == ["sms"]


def test_the_users_method_now_counts_and_a_pin_user_gets_no_sms_code(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    bram = w.user(client["id"], "Bram Jansen", mobile="+31612340102", confirmation="pin")
    anna = w.user(client["id"], "Anna Jansen", mobile="+31612340103", confirmation="pin")
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]  # both confirm by PIN at opening

    # a PIN user: no SMS code is sent, and a code is not taken
    refused = anna["api"].post(f"/api/v1/approvals/{request_id}/sms")
    assert refused.status_code == 422 and refused.json()["error"] == "confirmation_required", refused.text
    assert fake_twilio.messages(to=anna["mobile"]) == []
    as_code = anna["api"].post(f"/api/v1/approvals/{request_id}/decline", json={"code": "123456", "reason": "x"})
    assert as_code.status_code == 422 and as_code.json()["error"] == "confirmation_required"

    # Bram is switched to SMS while the request is open: from then on his PIN is refused
    w.tokens([bram], "sms")
    with_pin = bram["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": bram["pin"]})
    assert with_pin.status_code == 422 and with_pin.json()["error"] == "confirmation_required", with_pin.text
    assert _status(w, request_id)["status"] == "pending"
    assert bram["api"].post(f"/api/v1/approvals/{request_id}/sms").status_code == 202
    declined = bram["api"].post(f"/api/v1/approvals/{request_id}/decline",
                                json={"code": w.sms_code(bram, after=0), "reason": "De cijfers kloppen niet."})
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
