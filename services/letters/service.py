"""letters' entrypoints: thin; the rules live in batches, layout, certificates."""
import logging

from nameko.timer import timer

from chassis.db import Database
from chassis.inbox import idempotent_handler
from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from letters import batches, certificates
from letters.jobs import RenderControl, render_jobs
from letters.models import inbox, outbox
from letters.schemas import BatchesConfirmedSchema, BatchRefSchema, CertificateSchema, CreateBatchSchema

log = logging.getLogger(__name__)


class LettersService:
    name = "letters"

    db = Database("letters")
    events = EventOutbox(outbox)
    identity = ServiceRpc("identity")
    jobs = RenderControl()
    health = HealthCheck()

    @rpc
    def create_batch(self, principal, payload):
        p = Principal.load(principal)
        result = batches.create(self.db.session, p, CreateBatchSchema().load(payload))
        self.db.after_commit.append(self.jobs.wake)
        return result

    @idempotent_handler(inbox, "identity", "letter_batches_confirmed")
    def on_letter_batches_confirmed(self, data, envelope):
        if batches.confirm(self.db.session, BatchesConfirmedSchema().load(data)["batch_ids"]):
            self.db.after_commit.append(self.jobs.wake)

    @rpc
    def batch_status(self, principal, batch_id):
        ref = BatchRefSchema().load({"batch_id": batch_id})
        return batches.status(self.db.session, Principal.load(principal), ref["batch_id"])

    @rpc
    def batch_pdf(self, principal, batch_id):
        ref = BatchRefSchema().load({"batch_id": batch_id})
        p = Principal.load(principal)
        result, batch, first = batches.pdf(self.db.session, p, ref["batch_id"])
        if first:
            self.events.emit("batch_printed", {"batch_id": batch.id, "firm_id": batch.firm_id,
                                               "branch_id": batch.branch_id, "by_user_id": p.user_id})
        return result

    @rpc
    def render_certificate(self, payload):
        return certificates.render(CertificateSchema().load(payload))

    @rpc
    def ping(self):
        return self.health.status()

    @render_jobs(interval=2.0)
    def render_pending(self):
        """Render the next waiting batch; True when there may be more to do."""
        return batches.render_next(self.db, lambda branch_id: self.identity.branch_layout(branch_id=branch_id),
                                   self.events.emit, lambda: self.jobs.stopping)

    @timer(interval=3600, eager=True)
    def purge_expired(self):
        try:
            batches.discard_unconfirmed(self.db.session)
            self.db.commit()
        except Exception:  # never in the way of deleting PDFs with PINs after the retention time
            self.db.rollback()
            log.exception("discarding unconfirmed letter batches failed")
        count = batches.purge_expired(self.db.session)
        self.db.commit()
        return count
