"""Codes in messages: never in logs, encrypted at rest, and gone once twilio has the message."""
import logging
import uuid

import sqlalchemy as sa

from notify.models import EmailMessage, SmsMessage
from tests.notify.test_sending import mobile, no_firm


def test_code_is_not_logged_and_not_kept_after_sending(twilio_portal, fake_twilio, db_engine, caplog):
    caplog.set_level(logging.INFO)
    key = f"test:{uuid.uuid4().hex}"
    twilio_portal.rpc.notify.send_sms(payload={"firm_id": no_firm(), "to": mobile(), "key": key, "purpose": "login",
                                               "body": "Uw inlogcode is 918273."})
    assert fake_twilio.received[0]["form"]["Body"] == "Uw inlogcode is 918273."
    assert "918273" not in caplog.text
    with db_engine.connect() as conn:
        row = conn.execute(sa.select(SmsMessage.__table__).where(SmsMessage.key == key)).one()
    assert row.status == "sent" and row.body_enc is None


def test_outbox_and_queued_bodies_are_encrypted_at_rest(outbox_portal, db_engine):
    sms_key, mail_key = f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"
    outbox_portal.rpc.notify.send_sms(payload={"firm_id": no_firm(), "to": mobile(), "key": sms_key,
                                               "purpose": "login", "body": "Uw code is 564738."})
    outbox_portal.rpc.notify.send_email(payload={"firm_id": no_firm(), "to": "a@klant.example", "key": mail_key,
                                                 "subject": "Activering", "text": "Activeringscode: QWER-TYUI"})
    with db_engine.connect() as conn:
        sms_row = conn.execute(sa.select(SmsMessage.__table__).where(SmsMessage.key == sms_key)).one()
        mail_row = conn.execute(sa.select(EmailMessage.__table__).where(EmailMessage.key == mail_key)).one()
    assert sms_row.body_enc and b"564738" not in bytes(sms_row.body_enc)
    assert mail_row.text_enc and b"QWER-TYUI" not in bytes(mail_row.text_enc)


def test_messaging_service_sid_as_sender(monkeypatch, twilio_portal, fake_twilio):
    service_sid = "MG" + "1" * 32
    monkeypatch.setenv("TWILIO_FROM", service_sid)
    twilio_portal.rpc.notify.send_sms(payload={"firm_id": no_firm(), "to": mobile(), "key": f"test:{uuid.uuid4().hex}",
                                               "purpose": "notice", "body": "Hallo"})
    form = fake_twilio.received[-1]["form"]
    assert form["MessagingServiceSid"] == service_sid and "From" not in form
