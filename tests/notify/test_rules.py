"""SMS settings per firm (GET/PUT /api/v1/settings/sms) and the rules of a send: bad input,
sender name, per-number code limit, daily cap. Each refusal says why and leaves a failed status."""
import uuid

import pytest

from tests.notify.test_sending import error_name, mobile, no_firm


def sms(firm_id=None, **overrides):
    payload = {"firm_id": firm_id or no_firm(), "to": mobile(), "body": "Uw code is 123456.",
               "key": f"test:{uuid.uuid4().hex}", "purpose": "login"}
    payload.update(overrides)
    return payload


def refused(portal, payload, expected="SmsRefused"):
    with pytest.raises(Exception) as raised:
        portal.rpc.notify.send_sms(payload=payload)
    assert error_name(raised.value) == expected, raised.value
    stored = portal.rpc.notify.sms_message(message_id=raised.value.details["message_id"])
    assert stored["status"] == "failed"
    return raised.value


@pytest.mark.parametrize("to", ["12345", "+31 6 1234", "not a number", "+999123456789", "", "020 624 1111"])
def test_invalid_numbers_are_refused(twilio_portal, fake_twilio, to):
    error = refused(twilio_portal, sms(to=to))
    assert error.message == "Ongeldig mobiel nummer." and error.details["field"] == "to"
    assert fake_twilio.received == []


@pytest.mark.parametrize("body,reason", [("", "empty"), ("   \n ", "empty"), ("x" * 1601, "too_long")])
def test_empty_and_overlong_bodies_are_refused(twilio_portal, fake_twilio, body, reason):
    error = refused(twilio_portal, sms(body=body))
    assert error.details["reason"] == reason and error.details["field"] == "body"
    assert fake_twilio.received == []


def test_body_of_exactly_1600_characters_goes(twilio_portal, fake_twilio):
    assert twilio_portal.rpc.notify.send_sms(payload=sms(body="x" * 1600))["status"] == "sent"
    assert len(fake_twilio.received[0]["form"]["Body"]) == 1600


def test_refusal_is_idempotent_too(twilio_portal, fake_twilio):
    payload = sms(to="12345")
    first = refused(twilio_portal, payload)
    second = refused(twilio_portal, payload)
    assert first.details["message_id"] == second.details["message_id"]


def test_settings_sender_and_switch(twilio_portal, fake_twilio):
    firm = twilio_portal.create_firm()
    admin = twilio_portal.login(firm["admin"]["username"], firm["admin"]["password"])
    firm_id = firm["firm_id"]

    current = admin.get("/api/v1/settings/sms")
    assert current.status_code == 200, current.text
    assert current.json()["enabled"] is True and current.json()["codes_per_number"] == 5

    for bad in ("KantoorAmsterdam", "Bakker&Co", "12345", ""):
        response = admin.put("/api/v1/settings/sms", json={"sender": bad})
        assert response.status_code == 422, (bad, response.text)
        assert "sender" in response.json()["details"]["fields"]

    response = admin.put("/api/v1/settings/sms", json={"sender": "BakkerCo"})
    assert response.status_code == 200 and response.json()["sender"] == "BakkerCo"
    twilio_portal.rpc.notify.send_sms(payload=sms(firm_id))
    assert fake_twilio.received[-1]["form"]["From"] == "BakkerCo"

    error = refused(twilio_portal, sms(firm_id, sender="Onbekend"))
    assert error.details["reason"] == "unknown_sender" and "afzender" in error.message.lower()

    changed = {**admin.get("/api/v1/settings/sms").json(), "enabled": False}  # a GET answer PUT back
    assert admin.put("/api/v1/settings/sms", json=changed).json()["enabled"] is False
    error = refused(twilio_portal, sms(firm_id))
    assert error.details["reason"] == "disabled" and "staat uit" in error.message
    assert len(fake_twilio.received) == 1


def test_settings_need_staff_with_admin_right(twilio_portal):
    firm = twilio_portal.create_firm()
    assert twilio_portal.api().get("/api/v1/settings/sms").status_code == 401
    for principal in ({"kind": "client", "firm_id": firm["firm_id"], "user_id": 999, "client_ids": [1]},
                      {"kind": "staff", "firm_id": firm["firm_id"], "user_id": 998, "rights": ["news"]}):
        with pytest.raises(Exception) as raised:
            twilio_portal.rpc.notify.put_sms_settings(principal=principal, payload={"enabled": False})
        assert error_name(raised.value) == "Forbidden"


def test_five_codes_per_number_per_ten_minutes(twilio_portal, fake_twilio):
    number = mobile()
    for _ in range(5):
        assert twilio_portal.rpc.notify.send_sms(payload=sms(to=number))["status"] == "sent"
    error = refused(twilio_portal, sms(to=number), expected="SmsLimitReached")
    assert error.details["reason"] == "codes_per_number" and "5 codes" in error.message
    # Another number, or a notice that is no code, still goes.
    twilio_portal.rpc.notify.send_sms(payload=sms())
    twilio_portal.rpc.notify.send_sms(payload=sms(to=number, purpose="approval_notice", body="Nieuw document."))
    assert len(fake_twilio.received) == 7


def test_daily_cap_per_firm_over_http(twilio_portal, fake_twilio):
    firm = twilio_portal.create_firm()
    admin = twilio_portal.login(firm["admin"]["username"], firm["admin"]["password"])
    assert admin.put("/api/v1/settings/sms", json={"daily_cap": 2}).status_code == 200
    for _ in range(2):
        twilio_portal.rpc.notify.send_sms(payload=sms(firm["firm_id"], purpose="approval_notice"))
    error = refused(twilio_portal, sms(firm["firm_id"], purpose="approval_notice"), expected="SmsLimitReached")
    assert error.details["reason"] == "daily_cap" and "dagelijkse maximum van 2" in error.message
    assert admin.get("/api/v1/settings/sms").json()["sent_today"] == 2
    twilio_portal.rpc.notify.send_sms(payload=sms(no_firm(), purpose="approval_notice"))  # other firms: no cap
    assert len(fake_twilio.received) == 3
    # a day of notices never locks SMS users out: login and approval codes (to confirmed numbers) still go
    for purpose in ("login", "confirm"):
        twilio_portal.rpc.notify.send_sms(payload=sms(firm["firm_id"], purpose=purpose))
    assert len(fake_twilio.received) == 5
    assert admin.get("/api/v1/settings/sms").json()["sent_today"] == 4
    # a code to a new, unconfirmed number stays under the cap: anyone with a PIN may name any number
    error = refused(twilio_portal, sms(firm["firm_id"], purpose="mobile"), expected="SmsLimitReached")
    assert error.details["reason"] == "daily_cap"
    assert len(fake_twilio.received) == 5


def test_code_limit_carries_retry_after_to_http(twilio_portal, fake_twilio):
    """The 429 for too many codes says when the oldest code leaves the 10-minute window (Retry-After)."""
    from gateway.errors import from_exception
    number = mobile()
    for _ in range(5):
        twilio_portal.rpc.notify.send_sms(payload=sms(to=number))
    payload = sms(to=number)
    error = refused(twilio_portal, payload, expected="SmsLimitReached")
    assert 590 <= error.details["retry_after"] <= 601, error.details
    response = from_exception(error)
    assert response.status_code == 429 and 590 <= int(response.headers["Retry-After"]) <= 601
    again = refused(twilio_portal, payload, expected="SmsLimitReached")  # the same key: the same answer
    assert again.details["message_id"] == error.details["message_id"] and again.details["retry_after"] >= 1
