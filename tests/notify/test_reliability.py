"""Retries with backoff for 5xx and timeouts, none for 4xx, statuses and twilio's signed status callback."""
import time
import uuid

import pytest

from tests.notify.conftest import wait_for
from tests.notify.test_sending import error_name, mobile, no_firm


def sms(**overrides):
    payload = {"firm_id": no_firm(), "to": mobile(), "body": "Uw inlogcode is 123456.",
               "key": f"test:{uuid.uuid4().hex}", "purpose": "login"}
    payload.update(overrides)
    return payload


def message(portal, message_id):
    return portal.rpc.notify.sms_message(message_id=message_id)


def test_5xx_is_retried_with_backoff_until_sent(twilio_portal, fake_twilio):
    fake_twilio.fail_next(503, 20500, "Service Unavailable", times=2)
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    assert result["status"] == "queued"  # not lost, not failed: waiting for its next attempt

    done = wait_for(lambda: message(twilio_portal, result["message_id"])["status"] == "sent" and
                    message(twilio_portal, result["message_id"]))
    assert done["attempts"] == 3
    assert [r["answer"] for r in fake_twilio.received] == [503, 503, 201]


def test_timeout_is_retried(twilio_portal, fake_twilio):
    fake_twilio.fail_next(503, delay=2.5)  # slower than AKKOORD_TWILIO_TIMEOUT=1: a timeout for us
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    assert result["status"] == "queued"
    wait_for(lambda: message(twilio_portal, result["message_id"])["status"] == "sent")
    assert len([r for r in fake_twilio.received if r.get("sid")]) == 1


def test_persistent_5xx_gives_up_after_bounded_attempts(twilio_portal, fake_twilio):
    fake_twilio.fail_next(500, 20500, "Internal Server Error", times=50)
    payload = sms()
    result = twilio_portal.rpc.notify.send_sms(payload=payload)
    final = wait_for(lambda: (m := message(twilio_portal, result["message_id"]))["status"] == "failed" and m,
                     timeout=40)
    assert final["attempts"] == 5 and final["error_code"] == "gave_up"
    time.sleep(1.5)  # more delivery passes: nothing further goes out
    assert len(fake_twilio.received) == 5  # no retry storm: five tries, then a failed status
    # Asking again with the same key sends nothing more and says it failed.
    with pytest.raises(Exception) as raised:
        twilio_portal.rpc.notify.send_sms(payload=payload)
    assert error_name(raised.value) == "SmsFailed"
    assert len(fake_twilio.received) == 5


def test_4xx_is_not_retried_and_is_reported(twilio_portal, fake_twilio):
    fake_twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    with pytest.raises(Exception) as raised:
        twilio_portal.rpc.notify.send_sms(payload=sms())
    assert error_name(raised.value) == "SmsFailed"
    assert "unsubscribed recipient" in raised.value.message
    assert raised.value.details["error_code"] == "twilio:21610"
    time.sleep(2)  # several delivery passes: nothing is retried
    assert len(fake_twilio.received) == 1
    stored = message(twilio_portal, raised.value.details["message_id"])
    assert stored["status"] == "failed" and stored["attempts"] == 1


def test_status_callback_with_valid_signature_moves_status(twilio_portal, fake_twilio):
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    [request] = fake_twilio.received

    forged = fake_twilio.report_status(request["sid"], "delivered", signature="bm90IGEgc2lnbmF0dXJl")
    assert forged.status_code == 403 and forged.json()["error"] == "invalid_signature"
    assert message(twilio_portal, result["message_id"])["status"] == "sent"

    response = fake_twilio.report_status(request["sid"], "delivered")
    assert response.status_code == 204, response.text
    assert message(twilio_portal, result["message_id"])["status"] == "delivered"

    # A late "sent" callback does not move a delivered message back.
    assert fake_twilio.report_status(request["sid"], "sent").status_code == 204
    assert message(twilio_portal, result["message_id"])["status"] == "delivered"


def test_status_callback_undelivered_records_error(twilio_portal, fake_twilio):
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    [request] = fake_twilio.received
    assert fake_twilio.report_status(request["sid"], "undelivered", error_code="30003").status_code == 204
    final = message(twilio_portal, result["message_id"])
    assert final["status"] == "undelivered" and final["error_code"] == "twilio:30003"


def test_message_of_a_crashed_attempt_is_picked_up_again(twilio_portal, fake_twilio, db_engine):
    """A process that died between recording a message and hearing twilio's answer leaves it "sending";
    after a while the delivery pass of any replica takes it over: the message is not lost."""
    import datetime as dt

    from sqlalchemy.orm import Session

    from chassis import crypto
    from notify.models import SmsMessage
    from notify.sms import CRYPTO_PURPOSE, STALE_SENDING

    long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - STALE_SENDING - dt.timedelta(seconds=5)
    number = mobile()
    with Session(db_engine) as session:
        row = SmsMessage(firm_id=no_firm(), key=f"test:{uuid.uuid4().hex}", purpose="login", to_number=number,
                         body_enc=crypto.encrypt(b"Uw inlogcode is 777777.", CRYPTO_PURPOSE), length=23,
                         backend="twilio", status="sending", attempts=1, created_at=long_ago, updated_at=long_ago)
        session.add(row)
        session.commit()
        message_id = row.id
    wait_for(lambda: message(twilio_portal, message_id)["status"] == "sent")
    [request] = fake_twilio.messages(number)
    assert request["form"]["Body"] == "Uw inlogcode is 777777."


def test_while_twilio_is_down_sends_are_queued_without_waiting_on_it(twilio_portal, fake_twilio):
    fake_twilio.fail_next(503, 20500, "Service Unavailable")
    first = twilio_portal.rpc.notify.send_sms(payload=sms())
    assert first["status"] == "queued"
    # twilio would accept now, but this RPC does not try it: the carrier failed a moment ago.
    second = twilio_portal.rpc.notify.send_sms(payload=sms())
    assert second["status"] == "queued"
    for result in (first, second):
        wait_for(lambda: message(twilio_portal, result["message_id"])["status"] == "sent")
    # and once the delivery pass got through, RPCs send at once again
    assert twilio_portal.rpc.notify.send_sms(payload=sms())["status"] == "sent"
    assert [r["answer"] for r in fake_twilio.received] == [503, 201, 201, 201]


def test_firm_admin_sees_failed_messages_with_reason(twilio_portal, fake_twilio):
    from tests.notify.helpers import Firm
    firm = Firm(twilio_portal)
    fake_twilio.fail_next(400, 21211, "The 'To' number is not a valid phone number.")
    with pytest.raises(Exception):
        twilio_portal.rpc.notify.send_sms(payload=sms(firm_id=firm.id))
    twilio_portal.rpc.notify.send_sms(payload=sms(firm_id=firm.id))
    listed = firm.admin.get("/api/v1/settings/sms/messages", params={"status": "failed"})
    assert listed.status_code == 200, listed.text
    [failed] = listed.json()["items"]
    assert failed["error_code"] == "twilio:21211" and "not a valid phone number" in failed["error"]
    assert "body" not in failed
    assert firm.admin.get("/api/v1/settings/sms/messages").json()["total"] == 2
    other = Firm(twilio_portal)
    assert other.admin.get("/api/v1/settings/sms/messages").json()["total"] == 0


def test_status_callback_behind_a_public_url(monkeypatch, twilio_portal, fake_twilio):
    monkeypatch.setenv("AKKOORD_PUBLIC_URL", "https://portaal.kantoor.example")
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    [request] = fake_twilio.received
    assert request["form"]["StatusCallback"] == \
        f"https://portaal.kantoor.example/api/v1/notify/twilio/status?message_id={result['message_id']}"
    # twilio signs the public URL; the proxy hands the request to the gateway at its own address
    response = fake_twilio.report_status(request["sid"], "delivered",
                                         post_to=twilio_portal.url + "/api/v1/notify/twilio/status")
    assert response.status_code == 204, response.text
    assert message(twilio_portal, result["message_id"])["status"] == "delivered"
