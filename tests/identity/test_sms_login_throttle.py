"""SMS login: a known password must not buy fresh tries at the SMS code. Wrong codes count against the
account, and only a finished login (password and code) clears that count."""
import random

from tests.identity.helpers import Firm, code_in, sms_to
from tests.identity.test_users import PASSWORD, new_client_user


def mobile() -> str:
    return "+3162" + "".join(random.choice("0123456789") for _ in range(7))


def test_password_alone_does_not_reset_wrong_sms_codes(portal):
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, _api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    assert firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms",
                                                   "login": "password_sms"}).status_code == 200
    credentials = {"username": user["username"], "password": PASSWORD}
    throttled = None
    for _round in range(3):  # someone who knows the password but not the phone: 5 wrong codes per challenge
        login = portal.api().post("/api/v1/session", json=credentials)
        if login.status_code == 429:
            throttled = login
            break
        assert login.status_code == 200, login.text
        challenge = login.json()["challenge_id"]
        code = code_in(sms_to(portal, number)[0])
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            answer = portal.api().post("/api/v1/session/sms", json={"challenge_id": challenge, "code": wrong})
            assert answer.status_code in (422, 429), answer.text
    # ten wrong codes lock the account like ten wrong passwords, whatever the password
    assert throttled is not None, "the right password reset the count of wrong SMS codes"
    assert throttled.json()["error"] == "login_throttled"


def test_finished_sms_login_clears_the_count(portal):
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, _api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms",
                                            "login": "password_sms"})
    credentials = {"username": user["username"], "password": PASSWORD}
    for _ in range(2):  # a typo in the code now and then never locks out the owner of the phone
        login = portal.api().post("/api/v1/session", json=credentials)
        assert login.status_code == 200, login.text
        code = code_in(sms_to(portal, number)[0])
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(4):
            portal.api().post("/api/v1/session/sms", json={"challenge_id": login.json()["challenge_id"],
                                                           "code": wrong})
        done = portal.api().post("/api/v1/session/sms", json={"challenge_id": login.json()["challenge_id"],
                                                              "code": code})
        assert done.status_code == 200, done.text


def test_too_many_codes_to_one_number_is_429_with_notifys_reason(portal):
    """notify sends at most 5 codes to a number in 10 minutes; the user is told to wait (429), not to check
    a mobile number that is fine."""
    firm = Firm(portal)
    client = firm.client(0)
    number = mobile()
    user, _api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number)
    firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "sms",
                                            "login": "password_sms"})
    credentials = {"username": user["username"], "password": PASSWORD}
    for _ in range(5):
        assert portal.api().post("/api/v1/session", json=credentials).status_code == 200
    sixth = portal.api().post("/api/v1/session", json=credentials)
    assert sixth.status_code == 429, sixth.text
    assert sixth.json()["error"] == "sms_limit" and "Probeer het later opnieuw" in sixth.json()["message"]
    assert len([body for body in sms_to(portal, number) if body]) == 5  # the refused one is kept without text
