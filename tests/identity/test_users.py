"""Client users end to end: creation with an activation letter (read from the printed PDF), activation,
colleagues by a superuser, linking, bulk creation, deactivation ending sessions."""
import uuid

import sqlalchemy as sa

from tests.identity.helpers import Firm, letter_secrets, principal_of

PASSWORD = "een lange zin die niemand raadt"


def activate(portal, username, code, password=PASSWORD):
    answer = portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                        "password": password})
    assert answer.status_code == 200, answer.text
    return portal.login(username, password)


def new_client_user(portal, firm, creator_api, client_id, **body):
    body.setdefault("name", "Els Klant")
    created = creator_api.post(f"/api/v1/clients/{client_id}/users", json=body)
    assert created.status_code == 201, created.text
    data = created.json()
    secrets = letter_secrets(portal, firm.admin_principal, data["letter_batch_id"])
    return data, activate(portal, data["username"], secrets[data["username"]])


def test_client_user_gets_a_letter_activates_and_sees_its_client(portal, db_engine):
    firm = Firm(portal)
    client = firm.client(0, street="Dorpsstraat", house_number="3", postcode="1234AB", city="Ede")
    data, api = new_client_user(portal, firm, firm.admin, client["id"], superuser=True,
                                mobile="06-11112222", email="els@example.nl")
    me = api.get("/api/v1/me").json()
    assert me["user"]["kind"] == "client" and me["user"]["mobile"] == "+31611112222"
    assert me["clients"] == [{"id": client["id"], "number": client["number"], "name": client["name"],
                              "branch_id": firm.branch_ids[0], "superuser": True}]
    assert "approval" in me["rights"]
    listed = firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"]
    assert [(u["id"], u["superuser"], u["activated"]) for u in listed] == [(data["id"], True, True)]
    # the client user sees its client with the BSN masked, and not other clients
    other = firm.client(0)
    assert api.get(f"/api/v1/clients/{other['id']}").status_code == 404
    assert api.get("/api/v1/clients").json()["total"] == 1
    with db_engine.connect() as conn:
        codes = conn.execute(sa.text("SELECT code_hash, used_at, expires_at - created_at AS ttl "
                                     "FROM identity.activation_codes WHERE user_id = :u"), {"u": data["id"]}).all()
        events = [r.payload for r in conn.execute(sa.text(
            "SELECT payload FROM identity.outbox WHERE event_type = 'user_created'"))]
    assert len(codes) == 1 and codes[0].used_at is not None and codes[0].ttl.days == 14
    assert any(e["data"]["user_id"] == data["id"] for e in events)


def test_superuser_creates_colleagues_for_its_own_client_only_and_links(portal):
    firm = Firm(portal)
    client = firm.client(0)
    elsewhere = firm.client(1)
    boss, boss_api = new_client_user(portal, firm, firm.admin, client["id"], superuser=True)
    colleague, colleague_api = new_client_user(portal, firm, boss_api, client["id"], name="Kees Collega")
    assert colleague_api.get("/api/v1/me").json()["clients"][0]["superuser"] is False
    assert boss_api.post(f"/api/v1/clients/{elsewhere['id']}/users", json={"name": "X"}).status_code == 404
    # a colleague without superuser rights may not add users
    assert colleague_api.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Y"}).status_code == 403
    # staff link the existing user to a second client, as superuser there
    linked = firm.admin.post(f"/api/v1/clients/{elsewhere['id']}/users",
                             json={"user_id": colleague["id"], "superuser": True})
    assert linked.status_code == 201 and linked.json()["linked"] is True
    assert firm.admin.post(f"/api/v1/clients/{elsewhere['id']}/users",
                           json={"user_id": colleague["id"]}).status_code == 409
    clients = colleague_api.get("/api/v1/me").json()["clients"]
    assert {(c["id"], c["superuser"]) for c in clients} == {(client["id"], False), (elsewhere["id"], True)}
    # a user of another firm cannot be linked
    other_firm = Firm(portal)
    stranger_client = other_firm.client(0)
    assert other_firm.admin.post(f"/api/v1/clients/{stranger_client['id']}/users",
                                 json={"user_id": colleague["id"]}).status_code == 404


def test_bulk_creates_first_users_skips_clients_with_users(portal):
    firm = Firm(portal)
    group = firm.admin.post("/api/v1/groups", json={"name": f"Alleen accorderen {uuid.uuid4().hex[:4]}",
                                                    "kind": "client", "rights": ["approval"]}).json()
    fresh = [firm.client(i % 2, contact=f"Contact {i}", mobile="0612345678") for i in range(3)]
    served = firm.client(0)
    firm.admin.post(f"/api/v1/clients/{served['id']}/users", json={"name": "Al Aanwezig"})
    answer = firm.admin.post("/api/v1/users/bulk", json={"client_ids": [c["id"] for c in fresh] + [served["id"]],
                                                         "group_id": group["id"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(u["client_id"] for u in body["created"]) == sorted(c["id"] for c in fresh)
    assert body["skipped"] == [{"client_id": served["id"], "reason": "Deze cliënt heeft al een gebruiker."}]
    assert len(body["letter_batch_ids"]) == 2  # one batch per branch, each on its own letterhead
    secrets = {}
    for batch_id in body["letter_batch_ids"]:
        secrets |= letter_secrets(portal, firm.admin_principal, batch_id)
    assert set(secrets) == {u["username"] for u in body["created"]}
    first = body["created"][0]
    api = activate(portal, first["username"], secrets[first["username"]])
    me = api.get("/api/v1/me").json()
    assert me["rights"] == ["approval"] and me["clients"][0]["superuser"] is True
    assert me["user"]["name"].startswith("Contact ")
    again = firm.admin.post("/api/v1/users/bulk", json={"client_ids": [fresh[0]["id"]]}).json()
    assert again["created"] == [] and len(again["skipped"]) == 1 and again["letter_batch_id"] is None


def test_deactivation_ends_sessions_and_blocks_login(portal):
    firm = Firm(portal)
    client = firm.client(0)
    user, api = new_client_user(portal, firm, firm.admin, client["id"])
    assert api.get("/api/v1/me").status_code == 200
    off = firm.admin.patch(f"/api/v1/users/{user['id']}", json={"active": False, "rights": ["documents"]})
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["rights"] == ["documents"]
    assert api.get("/api/v1/me").status_code == 401
    assert portal.api().post("/api/v1/session", json={"username": user["username"],
                                                     "password": PASSWORD}).status_code == 401
    on = firm.admin.patch(f"/api/v1/users/{user['id']}", json={"active": True})
    assert on.status_code == 200
    assert portal.login(user["username"], PASSWORD).get("/api/v1/me").json()["rights"] == ["documents"]
    # a client user cannot grant itself rights or touch others
    again = portal.login(user["username"], PASSWORD)
    assert again.patch(f"/api/v1/users/{user['id']}", json={"rights": ["approval"]}).status_code == 403
    assert again.patch(f"/api/v1/users/{firm.data['admin_user_id']}", json={"active": False}).status_code == 404


def test_letters_unavailable_rolls_back_user_creation(portal, db_engine):
    """If letters cannot take the batch, no user exists whose code nobody can read."""
    firm = Firm(portal)
    client = firm.client(0)
    # stop the letters service: the call gives up after its deadline, the error is reported, nothing is created
    next(c for c in portal.runner.containers if c.service_name == "letters").stop()
    answer = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Nergens"})
    assert answer.status_code == 503 and answer.json()["error"] in ("letters_unavailable", "unavailable")
    with db_engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM identity.users WHERE name = 'Nergens'")).scalar()
    assert count == 0
