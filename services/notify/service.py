"""notify's entrypoints: thin; the rules live in sms.py, mail.py, settings.py, news.py, notifications.py."""
import logging
import os

from nameko import config as nameko_config
from nameko.timer import timer

from chassis import client_branches, config as chassis_config
from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.inbox import idempotent_handler
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from notify import carriers, mail, news, notifications, settings, sms
from notify.exceptions import DevPageDisabled
from notify.models import ClientBranch, inbox, outbox
from notify.schemas import (ListNewsSchema, MailsConfirmedSchema, PostNewsSchema, RequestDecidedSchema,
                            RequestOpenedSchema, SendEmailSchema, SendEmailsSchema, SendSmsSchema, SmsListSchema,
                            SmsSettingsSchema, StatusCallbackSchema)

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/api/v1/notify/twilio/status"


def status_callback_url() -> str:
    """Where twilio reports delivery: the gateway's public address (AKKOORD_PUBLIC_URL) or its bind address."""
    base = os.environ.get("AKKOORD_PUBLIC_URL") or f"http://{nameko_config.get('WEB_SERVER_ADDRESS', '127.0.0.1:8000')}"
    return base.rstrip("/") + STATUS_CALLBACK_PATH


class NotifyService(client_branches.event_handlers(inbox, ClientBranch)):
    name = "notify"

    db = Database("notify")
    events = EventOutbox(outbox)
    health = HealthCheck()
    identity = ServiceRpc("identity")
    carrier_health = carriers.CarrierHealth()

    # -- sending (internal RPCs, called by identity and approval) ------------------
    @rpc
    def send_sms(self, payload):
        return sms.send(self.db, SendSmsSchema().load(payload), status_callback_url(), self.carrier_health)

    @rpc
    def send_email(self, payload):
        data = SendEmailSchema().load(payload)
        sender = notifications.branch_name(self.identity, data["branch_id"], fallback=None)
        return mail.send(self.db, data, sender)

    @rpc
    def send_emails(self, payload):
        mails = SendEmailsSchema().load(payload)["mails"]
        senders = {branch_id: notifications.branch_name(self.identity, branch_id, fallback=None)
                   for branch_id in {m["branch_id"] for m in mails}}
        return mail.send_many(self.db, mails, senders)

    @rpc
    def sms_message(self, message_id):
        return sms.get(self.db.session, int(message_id))

    @rpc
    def email_message(self, message_id):
        return mail.get(self.db.session, int(message_id))

    @rpc
    def list_sms_messages(self, principal, query=None):
        q = SmsListSchema().load(query or {})
        return sms.list_for_firm(self.db.session, Principal.load(principal), q["page"], q["per_page"], q["status"])

    @rpc
    def record_sms_status(self, payload):
        """twilio's status callback, forwarded by the gateway after checking X-Twilio-Signature."""
        return sms.record_status(self.db.session, StatusCallbackSchema().load(payload))

    # -- SMS settings (staff with Beheer) -------------------------------------------
    @rpc
    def get_sms_settings(self, principal):
        return settings.get(self.db.session, Principal.load(principal))

    @rpc
    def put_sms_settings(self, principal, payload):
        p = Principal.load(principal)
        settings.require_firm_admin(p)
        return settings.put(self.db.session, p, SmsSettingsSchema().load(payload))

    # -- news ------------------------------------------------------------------------
    @rpc
    def post_news(self, principal, payload):
        return news.post(self.db.session, Principal.load(principal), PostNewsSchema().load(payload), self.identity)

    @rpc
    def list_news(self, principal, query=None):
        q = ListNewsSchema().load(query or {})
        return news.list_for(self.db.session, Principal.load(principal), self.identity, q["page"], q["per_page"])

    # -- events ----------------------------------------------------------------------
    @idempotent_handler(inbox, "identity", "mails_confirmed")
    def on_mails_confirmed(self, data, envelope):
        mail.confirm(self.db.session, MailsConfirmedSchema().load(data)["keys"])

    @timer(interval=600)
    def discard_unconfirmed(self):
        mail.discard_unconfirmed(self.db.session)
        self.db.commit()

    @idempotent_handler(inbox, "approval", "request_opened")
    def on_request_opened(self, data, envelope):
        notifications.record(self.db.session, "request_opened", RequestOpenedSchema().load(data),
                             envelope["event_id"])

    @idempotent_handler(inbox, "approval", "request_approved")
    def on_request_approved(self, data, envelope):
        notifications.record(self.db.session, "request_approved", RequestDecidedSchema().load(data),
                             envelope["event_id"])

    @idempotent_handler(inbox, "approval", "request_declined")
    def on_request_declined(self, data, envelope):
        notifications.record(self.db.session, "request_declined", RequestDecidedSchema().load(data),
                             envelope["event_id"])


    # -- developer pages (only with the outbox backends) ---------------------------
    @rpc(read_only=True)
    def dev_sms_outbox(self, limit=100):
        # the pages' own setting, checked here too: any caller on the bus could ask otherwise
        if not chassis_config.dev_pages() or carriers.sms_backend_name() == "twilio":
            raise DevPageDisabled("Deze pagina bestaat niet.")
        return sms.outbox_page(self.db.session, min(int(limit), 500))

    @rpc(read_only=True)
    def dev_mail_outbox(self, limit=100):
        if not chassis_config.dev_pages() or mail.backend_name() != "outbox":
            raise DevPageDisabled("Deze pagina bestaat niet.")
        return mail.outbox_page(self.db.session, min(int(limit), 500))

    # -- background delivery: retries with backoff, one pass at a time per replica ----
    @timer(interval=1)
    def deliver_due(self):
        try:
            jobs = notifications.claim_due(self.db.session)
            self.db.commit()
            notifications.run(self.db, self.identity, jobs)
            ids = sms.claim_due(self.db.session)
            self.db.commit()
            sms.deliver(self.db, ids, status_callback_url(), self.carrier_health)
            ids = mail.claim_due(self.db.session)
            self.db.commit()
            mail.deliver(self.db, ids)
        except Exception:
            self.db.rollback()
            log.exception("delivery pass failed")

    @rpc
    def ping(self):
        return self.health.status()


