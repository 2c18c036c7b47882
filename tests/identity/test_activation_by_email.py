"""A new user receives an activation code by letter, or by e-mail (SPEC §3): the firm chooses per action;
the mail carries the username and the code on their fixed labels, as the letter does. A new code for an
existing account goes by letter only."""
import re
import time

from tests.identity.helpers import Firm, letter_secrets
from tests.identity.test_users import PASSWORD


def _mail_to(portal, address, timeout=10.0):
    """The newest mail to the address, once sent: notify holds it until identity's outbox confirms the change."""
    deadline = time.monotonic() + timeout
    while True:
        mails = [m for m in portal.rpc.notify.dev_mail_outbox(limit=500) if m["to"] == address]
        if mails:
            return mails[0]  # newest first
        assert time.monotonic() < deadline, f"no mail to {address}"
        time.sleep(0.05)


def _secrets(mail):
    return (re.search(r"Gebruikersnaam:\s*(\S+)", mail["text"]).group(1),
            re.search(r"Activeringscode:\s*(\S+)", mail["text"]).group(1))


def test_a_new_client_user_gets_its_activation_code_by_email(portal):
    firm = Firm(portal)
    client = firm.client(0)
    address = "els@klant.example"
    created = firm.admin.post(f"/api/v1/clients/{client['id']}/users",
                              json={"name": "Els Klant", "email": address, "delivery": "email"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["letter_batch_id"] is None and body["delivery"] == "email"
    mail = _mail_to(portal, address)
    username, code = _secrets(mail)
    assert username == body["username"] and "Els Klant" in mail["text"]
    activated = portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                            "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    # a new code for an existing account never goes by e-mail: whoever may change the user could have just
    # pointed its address elsewhere (and so taken the account over); it goes by letter to the client
    assert firm.admin.patch(f"/api/v1/users/{body['id']}", json={"email": "kantoor@elders.example"}).status_code == 200
    again = firm.admin.post(f"/api/v1/users/{body['id']}/activation", json={"delivery": "email"})
    assert again.status_code == 422 and "delivery" in again.json()["details"]["fields"], again.text
    assert not [m for m in portal.rpc.notify.dev_mail_outbox(limit=500) if m["to"] == "kantoor@elders.example"]
    by_letter = firm.admin.post(f"/api/v1/users/{body['id']}/activation", json={})
    assert by_letter.status_code == 201 and by_letter.json()["delivery"] == "letter", by_letter.text


def test_email_delivery_needs_an_address_and_changes_nothing_without_one(portal):
    firm = Firm(portal)
    client = firm.client(0)
    refused = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Zonder Mail",
                                                                            "delivery": "email"})
    assert refused.status_code == 422 and "email" in refused.json()["details"]["fields"], refused.text
    assert [u for u in firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"]
            if u["name"] == "Zonder Mail"] == []
    wrong = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "X", "delivery": "duif"})
    assert wrong.status_code == 422


def test_bulk_users_get_their_codes_by_email_and_clients_without_an_address_by_letter(portal):
    firm = Firm(portal)
    with_mail = [firm.client(i % 2, contact=f"Mail Contact {i}", email=f"bulk{i}@klant.example") for i in range(2)]
    without = firm.client(1, contact="Post Contact")
    # an address the client record takes but the mail server would not: notify refuses it, a letter goes instead
    unsendable = firm.client(1, contact="Fout Adres", email="fout@klant.n")
    chosen = [c["id"] for c in with_mail + [without, unsendable]]
    answer = firm.admin.post("/api/v1/users/bulk", json={"client_ids": chosen, "delivery": "email"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    by_client = {u["client_id"]: u for u in body["created"]}
    assert [by_client[c["id"]]["delivery"] for c in with_mail] == ["email", "email"]
    assert by_client[without["id"]]["delivery"] == by_client[unsendable["id"]]["delivery"] == "letter"
    assert len(body["letter_batch_ids"]) == 1  # only the clients without a usable address get a letter
    by_letter = letter_secrets(portal, firm.admin_principal, body["letter_batch_id"])
    assert set(by_letter) == {by_client[without["id"]]["username"], by_client[unsendable["id"]]["username"]}
    for i, client in enumerate(with_mail):
        username, code = _secrets(_mail_to(portal, f"bulk{i}@klant.example"))
        assert username == by_client[client["id"]]["username"]
        activated = portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                                "password": PASSWORD})
        assert activated.status_code == 200, activated.text
    wrong = firm.admin.post("/api/v1/users/bulk", json={"client_ids": [without["id"]], "delivery": "duif"})
    assert wrong.status_code == 422, wrong.text


def test_bulk_by_email_with_notify_away_creates_nobody(portal):
    firm = Firm(portal)
    client = firm.client(0, email="weg@klant.example")
    next(c for c in portal.runner.containers if c.service_name == "notify").stop()
    refused = firm.admin.post("/api/v1/users/bulk", json={"client_ids": [client["id"]], "delivery": "email"})
    assert refused.status_code == 503 and refused.json()["error"] == "mail_unavailable", refused.text
    assert firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"] == []
