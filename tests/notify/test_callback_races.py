"""twilio calling back before our send has recorded the message's SID, callbacks out of order, and a send
whose answer we never heard although twilio took it (no idempotency key at twilio)."""
import time

from tests.notify.conftest import wait_for
from tests.notify.test_reliability import message, sms


def test_callback_before_the_send_is_committed_is_not_lost(twilio_portal, fake_twilio):
    """twilio may call back within milliseconds of accepting, while the send's transaction is still open."""
    fake_twilio.call_back_before_answer("sent", "delivered")
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    [request] = fake_twilio.received
    assert request["early"] == [204, 204]
    assert message(twilio_portal, result["message_id"])["status"] == "delivered"
    # twilio's own 201 ("queued") arrived after the callbacks; a late "sent" callback neither moves it back
    assert fake_twilio.report_status(request["sid"], "sent").status_code == 204
    assert message(twilio_portal, result["message_id"])["status"] == "delivered"


def test_early_callbacks_out_of_order_keep_the_furthest_status(twilio_portal, fake_twilio):
    fake_twilio.call_back_before_answer("undelivered", "sent")
    result = twilio_portal.rpc.notify.send_sms(payload=sms())
    [request] = fake_twilio.received
    assert request["early"] == [204, 204]
    final = message(twilio_portal, result["message_id"])
    assert final["status"] == "undelivered" and final["error_code"] == "twilio:unknown"


def test_notice_whose_answer_timed_out_is_not_sent_twice(twilio_portal, fake_twilio):
    """twilio took the notice but its answer came after our timeout: no blind retry; twilio's callback
    (naming our message) settles it. A duplicate notice is worse than a late status."""
    fake_twilio.accept_slowly(2.5)  # slower than AKKOORD_TWILIO_TIMEOUT=1
    result = twilio_portal.rpc.notify.send_sms(
        payload=sms(purpose="approval_notice", body="Er staat een document voor u klaar."))
    assert result["status"] == "queued"
    time.sleep(2)  # many delivery passes and backoffs (base 0.2 s) later
    [request] = fake_twilio.received
    assert fake_twilio.report_status(request["sid"], "delivered").status_code == 204
    assert message(twilio_portal, result["message_id"])["status"] == "delivered"
    time.sleep(1)
    assert len(fake_twilio.received) == 1


def test_notice_with_an_ambiguous_timeout_and_no_callback_is_retried_later(monkeypatch, twilio_portal,
                                                                             fake_twilio):
    monkeypatch.setenv("AKKOORD_NOTIFY_AMBIGUOUS_WAIT", "2")
    fake_twilio.fail_next(503, delay=1.5)  # timed out, and twilio did not take it after all
    result = twilio_portal.rpc.notify.send_sms(payload=sms(purpose="approval_notice", body="Nieuw document."))
    assert result["status"] == "queued"
    time.sleep(1)
    assert len(fake_twilio.received) == 1  # held for twilio's callback first
    wait_for(lambda: message(twilio_portal, result["message_id"])["status"] == "sent")
    assert len(fake_twilio.received) == 2


def test_code_whose_answer_timed_out_is_retried_at_once(twilio_portal, fake_twilio):
    """A one-time code is retried after a timeout even though twilio may have sent it: the user waits for it,
    and the same code twice does no harm."""
    fake_twilio.accept_slowly(2.5)
    result = twilio_portal.rpc.notify.send_sms(payload=sms(purpose="login"))
    assert result["status"] == "queued"
    wait_for(lambda: message(twilio_portal, result["message_id"])["status"] in ("sent", "delivered"))
    assert len(fake_twilio.received) == 2
