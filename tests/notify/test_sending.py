"""send_sms / send_email through the real services, the real twilio library and smtplib."""
import random
import uuid

import phonenumbers
import pytest
from nameko.exceptions import RemoteError



def mobile() -> str:
    """A fresh valid Dutch mobile number, so the per-number code limit of one test does not touch another."""
    while True:
        number = "+316" + str(random.randint(10_000_000, 99_999_999))
        parsed = phonenumbers.parse(number)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            return number


def no_firm() -> int:
    """A firm id no test firm has (firms made by create_firm count up from 1): limits stay per test."""
    return random.randint(1_000_000, 9_999_999)


def error_name(exc) -> str:
    """The remote class of an RPC error (the gateway in this process registers local stand-ins)."""
    return exc.exc_type if isinstance(exc, RemoteError) else type(exc).__name__


def key():
    return f"test:{uuid.uuid4().hex}"


def sms(**overrides):
    payload = {"firm_id": no_firm(), "to": mobile(), "body": "Uw inlogcode is 123456.", "key": key(),
               "purpose": "login_code"}
    payload.update(overrides)
    return payload


def test_sms_goes_through_twilio_library_with_documented_fields(twilio_portal, fake_twilio):
    number = mobile()
    result = twilio_portal.rpc.notify.send_sms(payload=sms(to="06 " + number[4:]))
    assert result["status"] == "sent"

    [request] = fake_twilio.received
    assert request["path"] == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert (request["user"], request["password"]) == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert request["content_type"].startswith("application/x-www-form-urlencoded")
    form = request["form"]
    assert form["To"] == number  # "06 ..." normalised to E.164
    assert form["From"] == "+3197010000000"
    assert form["Body"] == "Uw inlogcode is 123456."
    # our message id in the URL: a callback finds the message before its SID is stored
    assert form["StatusCallback"].endswith(f"/api/v1/notify/twilio/status?message_id={result['message_id']}")


def test_same_key_sends_once(twilio_portal, fake_twilio):
    payload = sms()
    first = twilio_portal.rpc.notify.send_sms(payload=payload)
    second = twilio_portal.rpc.notify.send_sms(payload=payload)
    assert first == second
    assert len(fake_twilio.received) == 1


def test_outbox_backend_shows_messages_on_dev_page(outbox_portal):
    payload = sms(body="Uw code is 654321.", to=mobile())
    result = outbox_portal.rpc.notify.send_sms(payload=payload)
    assert result["status"] == "sent"
    page = outbox_portal.api().get("/dev/sms", params={"format": "json"})
    assert page.status_code == 200, page.text
    [row] = [r for r in page.json()["items"] if r["id"] == result["message_id"]]
    assert row["body"] == "Uw code is 654321." and row["to"] == payload["to"]
    html = outbox_portal.api().get("/dev/sms")
    assert html.headers["Content-Type"].startswith("text/html") and "Uw code is 654321." in html.text


def test_dev_page_is_absent_with_twilio(twilio_portal, monkeypatch):
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "1")  # even with the developer pages on: nothing in the outbox
    twilio_portal.rpc.notify.send_sms(payload=sms())
    assert twilio_portal.api().get("/dev/sms").status_code == 404
    with pytest.raises(Exception) as raised:
        twilio_portal.rpc.notify.dev_sms_outbox()
    assert error_name(raised.value) == "DevPageDisabled"


def test_email_over_smtp_with_text_and_html(twilio_portal, fake_smtp):
    payload = {"firm_id": no_firm(), "branch_id": None, "to": "klant@example.nl", "subject": "Nieuw document",
               "text": "Er staat een document voor u klaar.", "html": "<p>Er staat een document voor u klaar.</p>",
               "key": key()}
    result = twilio_portal.rpc.notify.send_email(payload=payload)
    assert result["status"] == "sent"
    again = twilio_portal.rpc.notify.send_email(payload=payload)
    assert again == result
    [message] = fake_smtp.to("klant@example.nl")
    assert len(fake_smtp.messages) == 1
    assert message["Subject"] == "Nieuw document"
    assert "portaal@kantoor.example" in message["From"]
    assert message.get_body(("plain",)).get_content().strip() == "Er staat een document voor u klaar."
    assert "<p>" in message.get_body(("html",)).get_content()
