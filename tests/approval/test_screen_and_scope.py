"""The approval screen across clients, rights fixed at opening and re-opening, branch scope,
client self-management of rights with the superuser's PIN, shared documents per branch,
tampered evidence reported through the gateway, and concurrent approvals over HTTP."""
import eventlet
import sqlalchemy as sa
from eventlet.event import Event

from approval.models import outbox
from tests.approval.helpers import World, add_staff, make_pdf, tampering_as_table_owner


def test_screen_lists_every_client_of_the_user_in_one_list(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    bakery, holding, other = w.client("Bakkerij Jansen BV"), w.client("Jansen Holding BV", 1), w.client("Ander BV")
    anna = w.user(bakery["id"], "Anna Jansen", confirmation="pin")
    w.link(anna, holding["id"])
    stranger = w.user(other["id"], "Vreemde Gebruiker", confirmation="pin")

    ids = [w.upload(w.admin, bakery["id"], title="Jaarrekening bakkerij").json()["approval_id"],
           w.upload(w.admin, holding["id"], document_type="corporate_tax", title="Vpb holding").json()["approval_id"],
           w.upload(w.admin, other["id"], title="Jaarrekening ander").json()["approval_id"]]
    screen = anna["api"].get("/api/v1/approvals").json()
    assert screen["total"] == 2
    assert [(i["id"], i["client"]["name"], i["document_type"]) for i in screen["items"]] == [
        (ids[1], "Jansen Holding BV", "corporate_tax"), (ids[0], "Bakkerij Jansen BV", "annual_accounts")]
    only_holding = anna["api"].get("/api/v1/approvals", params={"client_id": holding["id"]}).json()
    assert [i["id"] for i in only_holding["items"]] == [ids[1]]
    # another client's request is invisible: 404, not 403
    for path in (f"/api/v1/approvals/{ids[2]}", f"/api/v1/approvals/{ids[2]}/document",
                 f"/api/v1/approvals/{ids[2]}/evidence"):
        response = anna["api"].get(path)
        assert response.status_code == 404 and response.json()["error"] == "approval_not_found"
    assert [i["id"] for i in stranger["api"].get("/api/v1/approvals").json()["items"]] == [ids[2]]
    # a type the user has no right for disappears from the screen for new requests
    w.admin.put(f"/api/v1/clients/{bakery['id']}/approval-rights",
                json={"user_id": anna["id"], "document_type": "vat", "right": "none"})
    assert w.upload(w.admin, bakery["id"], document_type="vat", title="Btw Q3").status_code == 422  # nobody may
    assert anna["api"].get("/api/v1/approvals").json()["total"] == 2

    # staff of the Utrecht branch see Utrecht's clients only; firm-wide staff see all
    utrecht = add_staff(w, 1)
    staff_screen = utrecht["api"].get("/api/v1/approvals").json()
    assert [i["id"] for i in staff_screen["items"]] == [ids[1]]
    assert utrecht["api"].get(f"/api/v1/approvals/{ids[0]}").status_code == 404
    assert utrecht["api"].post(f"/api/v1/approvals/{ids[0]}/withdraw", json={}).status_code == 404
    assert w.admin.get("/api/v1/approvals").json()["total"] == 3
    pending = w.admin.get("/api/v1/approvals").json()["items"][0]
    assert pending["waiting_for"] and pending["approved_by"] == []


def test_rights_fixed_at_opening_and_staff_reopen(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    bram = w.user(client["id"], "Bram Jansen", mobile="+31612345679")
    w.tokens([bram], "sms")
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]
    assert w.admin.get(f"/api/v1/approvals/{request_id}").json()["rule"] == "any_may"

    changed = w.admin.put(f"/api/v1/clients/{client['id']}/approval-rights",
                          json={"user_id": bram["id"], "document_type": "annual_accounts", "right": "must"})
    assert changed.status_code == 200 and changed.json()["open_requests_unchanged"] == [request_id]
    still = w.admin.get(f"/api/v1/approvals/{request_id}").json()
    assert still["rule"] == "any_may" and still["rights_changed"] is True
    assert "gewijzigd" in still["rights_changed_note"]
    assert sorted(p["user_id"] for p in still["waiting_for"]) == sorted([anna["id"], bram["id"]])

    reopened = w.admin.post(f"/api/v1/approvals/{request_id}/reopen")
    assert reopened.status_code == 201, reopened.text
    new = reopened.json()
    assert new["rule"] == "all_must" and [p["user_id"] for p in new["waiting_for"]] == [bram["id"]]
    assert new["replaces_id"] == request_id and new["sha256"] == still["sha256"]
    assert w.admin.get(f"/api/v1/approvals/{request_id}").json()["status"] == "withdrawn"
    # Anna (may) is now powerless: her screen is empty, the old request takes nothing more
    assert anna["api"].get("/api/v1/approvals").json()["items"] == []
    assert anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]}).status_code == 409


def test_client_manages_rights_itself_only_when_allowed_and_with_its_pin(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    boss = w.user(client["id"], "Baas Jansen", superuser=True, confirmation="pin")
    clerk = w.user(client["id"], "Klerk Jansen")
    path = f"/api/v1/clients/{client['id']}/approval-rights"
    change = {"user_id": clerk["id"], "document_type": "vat", "right": "none"}

    off = boss["api"].put(path, json=dict(change, pin=boss["pin"]))
    assert off.status_code == 403 and off.json()["error"] == "self_management_off"
    assert clerk["api"].put(f"/api/v1/clients/{client['id']}/approval-settings",
                            json={"self_manage": True}).status_code == 403
    allowed = w.admin.put(f"/api/v1/clients/{client['id']}/approval-settings", json={"self_manage": True})
    assert allowed.status_code == 200 and allowed.json()["self_manage"] is True

    assert boss["api"].put(path, json=change).json()["error"] == "confirmation_required"
    wrong = boss["api"].put(path, json=dict(change, pin="000000" if boss["pin"] != "000000" else "111111"))
    assert wrong.status_code == 422 and wrong.json()["error"] == "wrong_pin"
    assert clerk["api"].put(path, json=dict(change, pin="123456")).status_code == 403  # not a superuser
    ok = boss["api"].put(path, json=dict(change, pin=boss["pin"]))
    assert ok.status_code == 200, ok.text
    matrix = boss["api"].get(path).json()
    by_user = {u["user_id"]: u["rights"] for u in matrix["users"]}
    assert by_user[clerk["id"]]["vat"] == "none" and by_user[clerk["id"]]["income_tax"] == "may"
    assert matrix["self_manage"] is True


def test_shared_documents_per_branch_or_firm_wide(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    amsterdam_client, utrecht_client = w.client("Amsterdam BV", 0), w.client("Utrecht BV", 1)
    ams_user = w.user(amsterdam_client["id"], "Ams Gebruiker")
    utr_user = w.user(utrecht_client["id"], "Utr Gebruiker")
    utrecht_staff = add_staff(w, 1)

    sent = {}

    def post(api, title, branch_id=None, data=None, filename="nieuwsbrief.pdf"):
        form = {"title": title}
        sent[title] = data = data or make_pdf(title)
        if branch_id is not None:
            form["branch_id"] = str(branch_id)
        return api.post("/api/v1/shared-documents", data=form,
                        files={"file": (filename, data, "application/pdf")})

    ams = post(w.admin, "Tarieven Amsterdam", w.branch_ids[0])
    assert ams.status_code == 201, ams.text
    everyone = post(w.admin, "Kantoorbrede nieuwsbrief")
    assert everyone.status_code == 201 and everyone.json()["firm_wide"] is True
    utr = post(utrecht_staff["api"], "Tarieven Utrecht")  # branch staff post to their own branch
    assert utr.status_code == 201 and utr.json()["branch_id"] == w.branch_ids[1]
    assert post(utrecht_staff["api"], "Stiekem", w.branch_ids[0]).status_code == 403
    assert post(ams_user["api"], "Cliënt mag niet").status_code == 403

    def titles(api):
        response = api.get("/api/v1/shared-documents")
        assert response.status_code == 200, response.text
        return sorted(d["title"] for d in response.json()["items"])

    assert titles(ams_user["api"]) == ["Kantoorbrede nieuwsbrief", "Tarieven Amsterdam"]
    assert titles(utr_user["api"]) == ["Kantoorbrede nieuwsbrief", "Tarieven Utrecht"]
    assert titles(utrecht_staff["api"]) == ["Kantoorbrede nieuwsbrief", "Tarieven Utrecht"]
    assert len(titles(w.admin)) == 3

    download = ams_user["api"].get(f"/api/v1/shared-documents/{ams.json()['id']}")
    assert download.status_code == 200 and download.content == sent["Tarieven Amsterdam"]
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    hidden = utr_user["api"].get(f"/api/v1/shared-documents/{ams.json()['id']}")
    assert hidden.status_code == 404


def test_tampered_evidence_is_reported_by_the_gateway(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]
    anna["api"].get(f"/api/v1/approvals/{request_id}/document")
    assert anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]}).ok
    assert w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["verification"]["valid"] is True

    with tampering_as_table_owner(db_engine) as conn:  # someone edits who approved, removes 'viewed' 
        conn.execute(sa.text("UPDATE approval.evidence SET actor_username = 'iemand anders' "
                             "WHERE request_id = :r AND event = 'approved'"), {"r": request_id})
        conn.execute(sa.text("DELETE FROM approval.evidence WHERE request_id = :r AND event = 'viewed'"),
                     {"r": request_id})
    verification = w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["verification"]
    assert verification["valid"] is False
    kinds = {(p["seq"], p["problem"]) for p in verification["problems"]}
    assert (2, "missing") in kinds and (3, "altered") in kinds
    certificate = w.admin.get(f"/api/v1/approvals/{request_id}/evidence", params={"format": "pdf"})
    assert certificate.status_code == 200 and certificate.content.startswith(b"%PDF")


def test_two_users_approving_at_the_same_moment_over_http(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    users = [w.user(client["id"], f"Gebruiker {n}", mobile=f"+3161234500{n}") for n in (1, 2)]
    w.tokens(users, "sms")
    for user in users:
        w.admin.put(f"/api/v1/clients/{client['id']}/approval-rights",
                    json={"user_id": user["id"], "document_type": "annual_accounts", "right": "must"})
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]
    codes = []
    for user in users:
        assert user["api"].post(f"/api/v1/approvals/{request_id}/sms").status_code == 202
        codes.append(w.sms_code(user, after=0))

    go = Event()

    def approve(user, code):
        go.wait()
        return user["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"code": code})

    threads = [eventlet.spawn(approve, u, c) for u, c in zip(users, codes)]
    eventlet.sleep(0.05)
    go.send(True)
    responses = [t.wait() for t in threads]
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert sorted(r.json()["status"] for r in responses) == ["approved", "pending"]
    final = w.admin.get(f"/api/v1/approvals/{request_id}").json()
    assert final["status"] == "approved" and len(final["approved_by"]) == 2
    with db_engine.connect() as conn:
        approved = [p for p in conn.execute(sa.select(outbox.c.payload).where(
            outbox.c.event_type == "request_approved")).scalars() if p["data"]["request_id"] == request_id]
    assert len(approved) == 1
