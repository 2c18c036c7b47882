"""Notifications from approval events, published to `approval.events` as approval's outbox relay does
(no approval service needed): e-mail (and SMS where the firm turned it on) to approvers, e-mail to the
staff of the client's branch on a decision. Each event delivered twice sends once."""
import time

from tests.notify.conftest import wait_for
from tests.notify.helpers import Firm, envelope, publish
from tests.notify.test_sending import mobile


def opened(firm, client, approver_ids, title="Jaarrekening 2025"):
    return envelope("request_opened", {
        "request_id": 41, "firm_id": firm.id, "branch_id": client["branch_id"], "client_id": client["id"],
        "document_type": "annual_accounts", "title": title, "approver_user_ids": approver_ids})


def test_request_opened_mails_and_texts_approvers_once(twilio_portal, fake_smtp, fake_twilio):
    firm = Firm(twilio_portal, branches=["Amsterdam", "Utrecht"])
    assert firm.admin.put("/api/v1/settings/sms", json={"approval_sms": True}).status_code == 200
    client = firm.client(branch_index=1)
    number = mobile()
    anna = firm.client_user(client["id"], name="Anna Klant", mobile=number, login=False)
    piet = firm.client_user(client["id"], name="Piet Klant", login=False)

    event = opened(firm, client, [anna["id"], piet["id"]])
    publish("approval", event)
    publish("approval", event)  # redelivered / published twice

    wait_for(lambda: fake_smtp.to(anna["email"]) and fake_smtp.to(piet["email"]) and fake_twilio.messages(number))
    time.sleep(2)  # delivery passes after the second copy: nothing more arrives
    [mail] = fake_smtp.to(anna["email"])
    assert len(fake_smtp.to(piet["email"])) == 1
    assert mail["Subject"] == "Document klaar voor uw akkoord: Jaarrekening 2025"
    assert mail["From"].addresses[0].display_name == "Utrecht"  # the client's branch signs
    text = mail.get_body(("plain",)).get_content()
    assert "Beste Anna Klant" in text and "jaarrekening" in text and "Met vriendelijke groet" in text
    assert "Jaarrekening 2025" in mail.get_body(("html",)).get_content()
    [text_message] = fake_twilio.messages(number)
    assert "akkoord (Jaarrekening 2025)" in text_message["form"]["Body"] and text_message["form"]["Body"].startswith("Utrecht")
    assert fake_twilio.messages() == [text_message]  # Piet has no mobile number


def test_request_opened_without_sms_setting_sends_only_mail(twilio_portal, fake_smtp, fake_twilio):
    firm = Firm(twilio_portal)
    client = firm.client()
    anna = firm.client_user(client["id"], name="Anna Klant", mobile=mobile(), login=False)
    publish("approval", opened(firm, client, [anna["id"]]))
    wait_for(lambda: fake_smtp.to(anna["email"]))
    time.sleep(1.5)
    assert fake_twilio.received == []


def test_decisions_tell_staff_of_the_clients_branch(twilio_portal, fake_smtp):
    firm = Firm(twilio_portal, branches=["Amsterdam", "Utrecht"])
    amsterdam = firm.staff(branch_index=0, name="Sanne Amsterdam")
    utrecht = firm.staff(branch_index=1, name="Umut Utrecht")
    client = firm.client(branch_index=0)
    anna = firm.client_user(client["id"], name="Anna Klant", login=False)
    base = {"firm_id": firm.id, "branch_id": client["branch_id"], "client_id": client["id"],
            "document_type": "vat", "title": "Btw Q1", "by_user_id": anna["id"]}

    approved = envelope("request_approved", {**base, "request_id": 7})
    publish("approval", approved)
    publish("approval", approved)
    declined = envelope("request_declined", {**base, "request_id": 8, "reason": "Omzet klopt niet"})
    publish("approval", declined)

    wait_for(lambda: len(fake_smtp.to(amsterdam["email"])) == 2 and len(fake_smtp.to(firm.admin_email)) == 2)
    time.sleep(1.5)
    subjects = sorted(m["Subject"] for m in fake_smtp.to(amsterdam["email"]))
    assert subjects == ["Akkoord gegeven: Btw Q1", "Akkoord geweigerd: Btw Q1"]
    assert len(fake_smtp.to(firm.admin_email)) == 2  # firm-wide staff are told too
    assert fake_smtp.to(utrecht["email"]) == []  # another branch is not
    decline = next(m for m in fake_smtp.to(amsterdam["email"]) if "geweigerd" in m["Subject"])
    body = decline.get_body(("plain",)).get_content()
    assert "Anna Klant" in body and "Omzet klopt niet" in body and "btw-aangifte" in body


def test_identity_away_delays_notifications_instead_of_losing_them(twilio_portal, fake_smtp, db_engine):
    import sqlalchemy as sa
    from nameko.containers import ServiceContainer

    from chassis.runner import service_class
    from notify.models import NotificationJob

    firm = Firm(twilio_portal, branches=["Amsterdam"])
    twilio_portal.runner.service_map["identity"].stop()  # identity goes away
    event = envelope("request_approved", {"request_id": 5, "firm_id": firm.id, "branch_id": firm.branch_ids[0],
                                          "client_id": 1, "document_type": "vat", "title": "Btw Q3",
                                          "by_user_id": None})
    publish("approval", event)

    def job():
        with db_engine.connect() as conn:
            return conn.execute(sa.select(NotificationJob.__table__).where(
                NotificationJob.event_id == event["event_id"])).first()

    # generous deadlines: the first attempt waits out the RPC deadline (20 s in tests), then a backoff
    postponed = wait_for(lambda: (row := job()) is not None and row.attempts >= 1 and row, timeout=120)
    assert postponed.status == "pending" and "Unavailable" in postponed.error
    assert fake_smtp.to(firm.admin_email) == []

    identity = ServiceContainer(service_class("identity"))  # identity is back
    identity.start()
    try:
        [mail] = wait_for(lambda: fake_smtp.to(firm.admin_email), timeout=120)
        assert mail["Subject"] == "Akkoord gegeven: Btw Q3"
        assert job().status == "done"
    finally:
        identity.stop()
