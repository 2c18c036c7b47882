"""notify's entrypoints: thin; the rules live in sms.py, mail.py, settings.py, news.py, notifications.py."""
import logging
import os

from nameko import config as nameko_config
from nameko.timer import timer

from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.inbox import idempotent_handler
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from notify import carriers, mail, sms
from notify.exceptions import DevPageDisabled
from notify.models import inbox, outbox
from notify.schemas import SendEmailSchema, SendSmsSchema, StatusCallbackSchema

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/api/v1/notify/twilio/status"


def status_callback_url() -> str:
    """Where twilio reports delivery: the gateway's public address (AKKOORD_PUBLIC_URL) or its bind address."""
    base = os.environ.get("AKKOORD_PUBLIC_URL") or f"http://{nameko_config.get('WEB_SERVER_ADDRESS', '127.0.0.1:8000')}"
    return base.rstrip("/") + STATUS_CALLBACK_PATH


class NotifyService:
    name = "notify"

    db = Database("notify")
    events = EventOutbox(outbox)
    health = HealthCheck()
    identity = ServiceRpc("identity")

    # -- sending (internal RPCs, called by identity and approval) ------------------
    @rpc
    def send_sms(self, payload):
        return sms.send(self.db, SendSmsSchema().load(payload), status_callback_url())

    @rpc
    def send_email(self, payload):
        data = SendEmailSchema().load(payload)
        return mail.send(self.db, data, self._sender_name(data.get("branch_id")))

    @rpc
    def sms_message(self, message_id):
        return sms.get(self.db.session, int(message_id))

    @rpc
    def email_message(self, message_id):
        return mail.get(self.db.session, int(message_id))

    @rpc
    def record_sms_status(self, payload):
        """twilio's status callback, forwarded by the gateway after checking X-Twilio-Signature."""
        return sms.record_status(self.db.session, StatusCallbackSchema().load(payload))

    # -- developer pages (only with the outbox backends) ---------------------------
    @rpc
    def dev_sms_outbox(self, limit=100):
        if carriers.sms_backend_name() == "twilio":
            raise DevPageDisabled("Deze pagina bestaat niet.")
        return sms.outbox_page(self.db.session, min(int(limit), 500))

    @rpc
    def dev_mail_outbox(self, limit=100):
        if mail.backend_name() != "outbox":
            raise DevPageDisabled("Deze pagina bestaat niet.")
        return mail.outbox_page(self.db.session, min(int(limit), 500))

    # -- background delivery: retries with backoff, one pass at a time per replica ----
    @timer(interval=1)
    def deliver_due(self):
        try:
            ids = sms.claim_due(self.db.session)
            self.db.commit()
            sms.deliver(self.db, ids, status_callback_url())
            ids = mail.claim_due(self.db.session)
            self.db.commit()
            mail.deliver(self.db, ids)
        except Exception:
            self.db.rollback()
            log.exception("delivery pass failed")

    @rpc
    def ping(self):
        return self.health.status()

    # -- helpers ---------------------------------------------------------------------
    def _sender_name(self, branch_id):
        if branch_id is None:
            return None
        try:
            layout = self.identity.branch_layout(branch_id=branch_id)
        except Exception:  # identity away or branch unknown: the mail still goes, under the portal's name
            log.warning("branch layout unavailable", extra={"branch_id": branch_id})
            return None
        return layout.get("display_name") or layout.get("name")


__all__ = ["NotifyService", "Principal", "idempotent_handler", "inbox"]
