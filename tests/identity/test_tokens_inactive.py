"""Tokens/rights leave deactivated users alone: no fresh PIN is mailed to someone who no longer works with the
portal (a person who left the client), and a later reactivation does not bring such a letter back to life."""
from tests.identity.helpers import Firm, letter_secrets
from tests.identity.test_users import new_client_user


def test_no_pin_letter_for_a_deactivated_user(portal):
    firm = Firm(portal)
    client = firm.client(0)
    stays, _ = new_client_user(portal, firm, firm.admin, client["id"], name="Blijft Hier")
    left, _ = new_client_user(portal, firm, firm.admin, client["id"], name="Is Vertrokken")
    assert firm.admin.patch(f"/api/v1/users/{left['id']}", json={"active": False}).status_code == 200

    issued = firm.admin.post("/api/v1/tokens", json={"client_ids": [client["id"]], "confirmation": "pin",
                                                     "login": "password"})
    assert issued.status_code == 200, issued.text
    assert [u["id"] for u in issued.json()["users"]] == [stays["id"]]
    printed = letter_secrets(portal, firm.admin_principal, issued.json()["letter_batch_id"])
    assert set(printed) == {stays["username"]}

    chosen = firm.admin.post("/api/v1/tokens", json={"user_ids": [left["id"]], "confirmation": "pin",
                                                     "login": "password"})
    assert chosen.status_code == 422, chosen.text
    listed = {u["id"]: u for u in firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"]}
    assert listed[left["id"]]["active"] is False
