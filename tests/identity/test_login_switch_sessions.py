"""Making a user's login stricter (password → password_sms through tokens/rights) ends the sessions it opened
with its password alone, so the second factor applies at once; a change that adds nothing keeps them."""
import random

from tests.identity.helpers import Firm, code_in, sms_to
from tests.identity.test_users import PASSWORD, new_client_user


def mobile() -> str:
    return "+3161" + "".join(random.choice("0123456789") for _ in range(7))


def test_switch_to_password_sms_ends_password_sessions(portal):
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    bystander, bystander_api = new_client_user(portal, firm, firm.admin, client["id"], mobile=mobile(),
                                               name="Blijft Ingelogd")

    # a PIN reissue with the same login method logs nobody out
    same = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                   "login": "password"})
    assert same.status_code == 200, same.text
    assert api.get("/api/v1/me").status_code == 200

    stricter = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms",
                                                       "login": "password_sms"})
    assert stricter.status_code == 200, stricter.text
    assert api.get("/api/v1/me").status_code == 401  # the password-only session is over
    assert bystander_api.get("/api/v1/me").status_code == 200  # others are not touched

    # logging in again takes the SMS code; that session survives a repeat of the same settings
    challenge = portal.api().post("/api/v1/session", json={"username": user["username"], "password": PASSWORD})
    assert challenge.status_code == 200 and challenge.json()["second_factor"] == "sms", challenge.text
    done = portal.api().post("/api/v1/session/sms", json={"challenge_id": challenge.json()["challenge_id"],
                                                          "code": code_in(sms_to(portal, number)[0])})
    assert done.status_code == 200, done.text
    with_sms = portal.api(done.json()["token"])
    again = firm.admin.post("/api/v1/tokens", json={"client_ids": [client["id"]], "confirmation": "sms",
                                                    "login": "password_sms"})
    assert again.status_code == 200, again.text
    assert with_sms.get("/api/v1/me").status_code == 200
    assert bystander_api.get("/api/v1/me").status_code == 401  # the bystander's login became stricter now
    # and back to the password alone: less strict, nothing to end
    back = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms",
                                                   "login": "password"})
    assert back.status_code == 200, back.text
    assert with_sms.get("/api/v1/me").status_code == 200
