"""E-mail: SMTP errors (permanent vs temporary), bad input, branch name as sender, and the outbox page."""
import uuid

import pytest

from tests.notify.conftest import wait_for
from tests.notify.helpers import Firm
from tests.notify.test_sending import error_name, no_firm


def mail(**overrides):
    payload = {"firm_id": no_firm(), "branch_id": None, "to": f"{uuid.uuid4().hex[:8]}@klant.example",
               "subject": "Uw activeringscode", "text": "Welkom bij het portaal.", "html": None,
               "key": f"test:{uuid.uuid4().hex}"}
    payload.update(overrides)
    return payload


def test_branch_name_is_the_sender_name(twilio_portal, fake_smtp):
    firm = Firm(twilio_portal, branches=["Amsterdam", "Zwolle"])
    payload = mail(firm_id=firm.id, branch_id=firm.branch_ids[1], html="<p>Welkom &amp; tot ziens</p>")
    assert twilio_portal.rpc.notify.send_email(payload=payload)["status"] == "sent"
    [message] = fake_smtp.to(payload["to"])
    sender = message["From"].addresses[0]
    assert sender.display_name == "Zwolle" and sender.addr_spec == "portaal@kantoor.example"
    assert message.is_multipart() and message.get_content_type() == "multipart/alternative"


def test_permanent_smtp_refusal_fails_without_retry(twilio_portal, fake_smtp):
    payload = mail(to="weg@klant.example")
    fake_smtp.reject.add("weg@klant.example")
    with pytest.raises(Exception) as raised:
        twilio_portal.rpc.notify.send_email(payload=payload)
    assert error_name(raised.value) == "EmailFailed" and "550" in raised.value.message
    stored = twilio_portal.rpc.notify.email_message(message_id=raised.value.details["message_id"])
    assert stored["status"] == "failed" and stored["attempts"] == 1


def test_temporary_smtp_refusal_is_retried(twilio_portal, fake_smtp):
    payload = mail(to="later@klant.example")
    fake_smtp.defer.add("later@klant.example")
    result = twilio_portal.rpc.notify.send_email(payload=payload)
    assert result["status"] == "queued"
    fake_smtp.defer.clear()
    wait_for(lambda: twilio_portal.rpc.notify.email_message(message_id=result["message_id"])["status"] == "sent")
    assert len(fake_smtp.to("later@klant.example")) == 1


@pytest.mark.parametrize("overrides,field", [
    ({"to": "geen-adres"}, "to"), ({"to": "a@b.nl\r\nBcc: x@y.nl"}, "to"),
    ({"subject": "Hallo\r\nBcc: x@y.nl"}, "subject"), ({"text": "", "html": None}, "text")])
def test_bad_email_input_is_refused_and_recorded(twilio_portal, fake_smtp, overrides, field):
    with pytest.raises(Exception) as raised:
        twilio_portal.rpc.notify.send_email(payload=mail(**overrides))
    assert error_name(raised.value) == "EmailRefused"
    stored = twilio_portal.rpc.notify.email_message(message_id=raised.value.details["message_id"])
    assert stored["status"] == "failed"
    assert fake_smtp.messages == []


def test_outbox_keeps_mail_for_the_dev_page(outbox_portal):
    payload = mail(text="Uw code staat in de brief.")
    result = outbox_portal.rpc.notify.send_email(payload=payload)
    assert result["status"] == "sent"
    page = outbox_portal.api().get("/dev/mail", params={"format": "json"}).json()
    [row] = [r for r in page["items"] if r["id"] == result["message_id"]]
    assert row["text"] == "Uw code staat in de brief." and row["to"] == payload["to"]
