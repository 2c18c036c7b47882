"""A confirmation counts only by the user's current method: moving a user to SMS voids its PIN, a PIN (or
an SMS code) of the other kind is refused by identity whatever method the caller names, and moving back to
PIN issues a fresh one."""
import hashlib
import random

import pytest
import sqlalchemy as sa

from tests.identity.helpers import Firm, code_in, error_name, letter_secrets, sms_to
from tests.identity.test_users import new_client_user


def mobile() -> str:
    return "+3161" + "".join(random.choice("0123456789") for _ in range(7))


def pin_state(db_engine, user_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.text("SELECT confirmation_method, pin_hash, pin_failures, pin_issued_at "
                                    "FROM identity.users WHERE id = :u"), {"u": user_id}).one()


def tokens(firm, user_id, confirmation):
    answer = firm.admin.post("/api/v1/tokens", json={"user_ids": [user_id], "confirmation": confirmation,
                                                     "login": "password"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_switch_to_sms_voids_the_pin_and_only_the_current_method_counts(portal, db_engine):
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    check = portal.rpc.identity.check_confirmation
    pin = letter_secrets(portal, firm.admin_principal, tokens(firm, user["id"], "pin")["letter_batch_id"])[
        user["username"]]
    assert check(user["id"], "pin", pin, None) is True
    wrong = "0" * len(pin) if pin != "0" * len(pin) else "1" * len(pin)
    with pytest.raises(Exception):
        check(user["id"], "pin", wrong, None)
    assert pin_state(db_engine, user["id"]).pin_failures == 1

    # staff move the user to SMS: the PIN, its failures and its date are gone
    assert tokens(firm, user["id"], "sms")["letter_batch_id"] is None
    state = pin_state(db_engine, user["id"])
    assert (state.confirmation_method, state.pin_hash, state.pin_failures, state.pin_issued_at) == \
        ("sms", None, 0, None)
    row = firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"][0]
    assert (row["confirmation"], row["pin_locked"]) == ("sms", False)

    # the old PIN confirms nothing, even when the caller says "pin"
    with pytest.raises(Exception) as err:
        check(user["id"], "pin", pin, None)
    assert error_name(err.value) == "WrongConfirmationMethod"
    assert "sms-code" in err.value.args[0]
    binding = {"request_id": 41, "sha256": hashlib.sha256(b"jaarrekening").hexdigest()}
    assert portal.rpc.identity.send_confirmation_code(user["id"], binding)["sent"] is True
    code = code_in(sms_to(portal, number)[0])
    assert check(user["id"], "sms", code, binding) is True

    # nor does it set the own mobile number through the gateway (which asks for the PIN)
    new_number = mobile()
    moved = api.put("/api/v1/me/mobile", json={"mobile": new_number, "pin": pin})
    assert 400 <= moved.status_code < 500 and moved.status_code != 202, moved.text
    assert "sms" in moved.json()["message"] and "kantoor" in moved.json()["message"]
    assert sms_to(portal, new_number) == [] and api.get("/api/v1/me").json()["user"]["mobile"] == number

    # back to PIN: a fresh PIN by letter; now an SMS code is the wrong kind, and no code is even sent
    fresh = letter_secrets(portal, firm.admin_principal, tokens(firm, user["id"], "pin")["letter_batch_id"])[
        user["username"]]
    assert check(user["id"], "pin", fresh, None) is True
    if fresh != pin:
        with pytest.raises(Exception) as err:
            check(user["id"], "pin", pin, None)
        assert error_name(err.value) == "WrongPin"
    failures = pin_state(db_engine, user["id"]).pin_failures
    with pytest.raises(Exception) as err:
        check(user["id"], "sms", code, binding)
    assert error_name(err.value) == "WrongConfirmationMethod" and "PIN-code" in err.value.args[0]
    sent_before = len(sms_to(portal, number))
    with pytest.raises(Exception) as err:
        portal.rpc.identity.send_confirmation_code(user["id"], {"request_id": 42, "sha256": binding["sha256"]})
    assert error_name(err.value) == "WrongConfirmationMethod"
    assert len(sms_to(portal, number)) == sent_before
    # a refusal of the wrong kind never looks at the secret, so it does not count against the PIN
    assert pin_state(db_engine, user["id"]).pin_failures == failures


def test_a_left_over_pin_of_an_sms_user_confirms_nothing(portal, db_engine):
    """Users moved to SMS before PINs were cleared on the switch still hold a PIN hash: identity itself
    refuses it for approvals and for the own mobile number, whatever method the caller names."""
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    pin = letter_secrets(portal, firm.admin_principal, tokens(firm, user["id"], "pin")["letter_batch_id"])[
        user["username"]]
    with db_engine.begin() as conn:  # the state such a switch used to leave behind
        conn.execute(sa.text("UPDATE identity.users SET confirmation_method = 'sms' WHERE id = :u"),
                     {"u": user["id"]})
    assert pin_state(db_engine, user["id"]).pin_hash is not None
    with pytest.raises(Exception) as err:
        portal.rpc.identity.check_confirmation(user["id"], "pin", pin, None)
    assert error_name(err.value) == "WrongConfirmationMethod"
    with pytest.raises(Exception) as err:  # with a binding, as approval sends it, just the same
        portal.rpc.identity.check_confirmation(user["id"], "pin", pin,
                                               {"request_id": 7, "sha256": hashlib.sha256(b"btw").hexdigest()})
    assert error_name(err.value) == "WrongConfirmationMethod"
    new_number = mobile()
    moved = api.put("/api/v1/me/mobile", json={"mobile": new_number, "pin": pin})
    assert 400 <= moved.status_code < 500 and moved.status_code != 202, moved.text
    assert sms_to(portal, new_number) == []
    assert pin_state(db_engine, user["id"]).pin_failures == 0
