"""Tokens/rights, PINs from letters, SMS login, approval confirmations through notify, own mobile number."""
import hashlib
import random

import pytest
import sqlalchemy as sa

from tests.fixtures import shows_secret
from tests.identity.helpers import Firm, code_in, error_name, letter_secrets, sms_to
from tests.identity.test_users import PASSWORD, new_client_user


def mobile() -> str:
    return "+3161" + "".join(random.choice("0123456789") for _ in range(7))


def test_pin_issue_prints_pins_reissue_voids_and_unlocks(portal, db_engine):
    firm = Firm(portal)
    client = firm.client(0)
    user, _api = new_client_user(portal, firm, firm.admin, client["id"])
    issued = firm.admin.post("/api/v1/tokens", json={"client_ids": [client["id"]], "confirmation": "pin",
                                                     "login": "password"})
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert [u["id"] for u in body["users"]] == [user["id"]] and body["letter_batch_id"]
    pin = letter_secrets(portal, firm.admin_principal, body["letter_batch_id"])[user["username"]]
    assert pin.isdigit() and len(pin) >= 6
    with db_engine.connect() as conn:
        events = [r.payload for r in conn.execute(sa.text(
            "SELECT payload FROM identity.outbox WHERE event_type = 'tokens_issued'"))]
    mine = [e["data"] for e in events if user["id"] in e["data"]["user_ids"]]
    assert mine == [{"firm_id": firm.id, "user_ids": [user["id"]], "confirmation": "pin", "login": "password",
                     "pin_issued": True, "by_user_id": firm.data["admin_user_id"]}]
    assert not shows_secret(str(events), pin)  # never a secret in an event
    assert portal.rpc.identity.check_confirmation(user["id"], "pin", pin, None) is True
    wrong = "0" * len(pin) if pin != "0" * len(pin) else "1" * len(pin)
    for _ in range(10):
        with pytest.raises(Exception):
            portal.rpc.identity.check_confirmation(user["id"], "pin", wrong, None)
    with pytest.raises(Exception) as err:
        portal.rpc.identity.check_confirmation(user["id"], "pin", pin, None)
    assert error_name(err.value) == "PinLocked"
    # staff reissue: a new PIN, the lock lifted, the old PIN void
    again = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                    "login": "password"}).json()
    new_pin = letter_secrets(portal, firm.admin_principal, again["letter_batch_id"])[user["username"]]
    assert portal.rpc.identity.check_confirmation(user["id"], "pin", new_pin, None) is True
    if new_pin != pin:
        with pytest.raises(Exception) as err:
            portal.rpc.identity.check_confirmation(user["id"], "pin", pin, None)
        assert error_name(err.value) == "WrongPin"


def test_sms_methods_need_a_mobile_number(portal):
    firm = Firm(portal)
    client = firm.client(0)
    user, _api = new_client_user(portal, firm, firm.admin, client["id"])
    for confirmation, login in (("sms", "password"), ("pin", "password_sms")):
        refused = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": confirmation,
                                                          "login": login})
        assert refused.status_code == 422 and refused.json()["error"] == "mobile_required"
        assert refused.json()["details"]["user_ids"] == [user["id"]]
    listed = firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"]
    assert (listed[0]["confirmation"], listed[0]["login"]) == ("pin", "password")
    # branch staff of another branch cannot even see the user
    other = firm.staff(branch_index=1)
    assert other["api"].post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                     "login": "password"}).status_code == 404


def test_sms_login_challenge(portal):
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, _api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    set_methods = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms",
                                                          "login": "password_sms"})
    assert set_methods.status_code == 200 and set_methods.json()["letter_batch_id"] is None
    first = portal.api().post("/api/v1/session", json={"username": user["username"], "password": PASSWORD})
    assert first.status_code == 200, first.text
    challenge = first.json()
    assert challenge["second_factor"] == "sms" and "token" not in challenge
    code = code_in(sms_to(portal, number)[0])
    wrong = "000000" if code != "000000" else "111111"
    answer = portal.api().post("/api/v1/session/sms", json={"challenge_id": challenge["challenge_id"], "code": wrong})
    assert answer.status_code == 422 and answer.json()["error"] == "wrong_code"
    done = portal.api().post("/api/v1/session/sms", json={"challenge_id": challenge["challenge_id"], "code": code})
    assert done.status_code == 200, done.text
    assert portal.api(done.json()["token"]).get("/api/v1/me").json()["user"]["id"] == user["id"]
    reused = portal.api().post("/api/v1/session/sms", json={"challenge_id": challenge["challenge_id"], "code": code})
    assert reused.status_code == 422 and reused.json()["error"] == "code_expired"
    # a second challenge dies after five wrong tries, even for the right code afterwards
    second = portal.api().post("/api/v1/session", json={"username": user["username"], "password": PASSWORD}).json()
    code = code_in(sms_to(portal, number)[0])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        portal.api().post("/api/v1/session/sms", json={"challenge_id": second["challenge_id"], "code": wrong})
    dead = portal.api().post("/api/v1/session/sms", json={"challenge_id": second["challenge_id"], "code": code})
    assert dead.status_code == 422 and dead.json()["error"] == "code_expired"


def test_confirmation_code_sent_through_notify_is_bound(portal):
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, _api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms", "login": "password"})
    binding = {"request_id": 9, "sha256": hashlib.sha256(b"aangifte").hexdigest()}
    assert portal.rpc.identity.send_confirmation_code(user["id"], binding)["sent"] is True
    code = code_in(sms_to(portal, number)[0])
    with pytest.raises(Exception) as err:  # another document's hash
        portal.rpc.identity.check_confirmation(user["id"], "sms", code,
                                               {"request_id": 9, "sha256": hashlib.sha256(b"x").hexdigest()})
    assert error_name(err.value) == "CodeExpired"
    with pytest.raises(Exception) as err:  # this user confirms by SMS: a PIN is refused before it is looked at
        portal.rpc.identity.check_confirmation(user["id"], "pin", "123456", None)
    assert error_name(err.value) == "WrongConfirmationMethod"
    assert portal.rpc.identity.check_confirmation(user["id"], "sms", code, binding) is True


def test_own_mobile_change_needs_pin_and_confirmation(portal):
    firm = Firm(portal)
    client = firm.client(0)
    old, new = mobile(), mobile()
    user, api = new_client_user(portal, firm, firm.admin, client["id"], mobile=old)
    batch = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                    "login": "password"}).json()["letter_batch_id"]
    pin = letter_secrets(portal, firm.admin_principal, batch)[user["username"]]
    wrong_pin = "9" * len(pin) if pin != "9" * len(pin) else "8" * len(pin)
    refused = api.put("/api/v1/me/mobile", json={"mobile": new, "pin": wrong_pin})
    assert refused.status_code == 422 and refused.json()["error"] == "wrong_pin"
    assert api.put("/api/v1/me/mobile", json={"mobile": "0612", "pin": pin}).status_code == 422
    asked = api.put("/api/v1/me/mobile", json={"mobile": new.replace("+31", "0"), "pin": pin})
    assert asked.status_code == 202, asked.text
    assert api.get("/api/v1/me").json()["user"]["mobile"] == old  # not before it is confirmed
    code = code_in(sms_to(portal, new)[0])
    wrong = "000000" if code != "000000" else "111111"
    assert api.post("/api/v1/me/mobile/confirm", json={"code": wrong}).status_code == 422
    confirmed = api.post("/api/v1/me/mobile/confirm", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert api.get("/api/v1/me").json()["user"]["mobile"] == new
    assert any("gewijzigd" in body for body in sms_to(portal, old))
    # staff cannot see the client user's PIN anywhere, and the user cannot set its number without it
    assert not shows_secret(firm.admin.get(f"/api/v1/clients/{client['id']}/users").text, pin)
    assert api.patch(f"/api/v1/users/{user['id']}", json={"mobile": old}).status_code in (403, 404)
