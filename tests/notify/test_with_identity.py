"""identity's SMS login codes go through notify to twilio; notify's per-number limit holds end to end."""
import re

from tests.notify.helpers import Firm
from tests.notify.test_sending import mobile


def test_sms_login_code_reaches_the_phone_and_the_sixth_code_is_refused(twilio_portal, fake_twilio):
    firm = Firm(twilio_portal)
    client = firm.client()
    number = mobile()
    cor = firm.client_user(client["id"], name="Cor Klant", mobile=number)
    response = firm.admin.post("/api/v1/tokens", json={"user_ids": [cor["id"]], "confirmation": "sms",
                                                       "login": "password_sms"})
    assert response.status_code == 200, response.text

    first = twilio_portal.api().post("/api/v1/session", json={"username": cor["username"],
                                                              "password": cor["password"]})
    assert first.status_code == 200 and first.json()["second_factor"] == "sms", first.text
    [text] = fake_twilio.messages(number)
    code = re.search(r"\b(\d{6})\b", text["form"]["Body"]).group(1)
    finished = twilio_portal.api().post("/api/v1/session/sms", json={"challenge_id": first.json()["challenge_id"],
                                                                    "code": code})
    assert finished.status_code == 200 and finished.json()["token"], finished.text

    for _ in range(4):
        again = twilio_portal.api().post("/api/v1/session", json={"username": cor["username"],
                                                                  "password": cor["password"]})
        assert again.status_code == 200, again.text
    sixth = twilio_portal.api().post("/api/v1/session", json={"username": cor["username"],
                                                              "password": cor["password"]})
    assert sixth.status_code in (422, 429), sixth.text  # identity reports notify's refusal
    assert len(fake_twilio.messages(number)) == 5
