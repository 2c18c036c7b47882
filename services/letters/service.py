"""letters' entrypoints: thin; the rules live in batches, layout, certificates."""
import logging

from nameko.exceptions import MethodNotFound, RemoteError, UnknownService
from nameko.timer import timer

from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.errors import Unavailable
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from letters import batches, certificates
from letters.exceptions import InvalidLayout, NotAllowed
from letters.jobs import RenderControl, render_jobs
from letters.models import Batch, outbox
from letters.schemas import BatchRefSchema, CertificateSchema, CreateBatchSchema

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
        session = self.db.session
        claimed = batches.claim(session)
        if claimed is None:
            return False
        batch_id, token = claimed
        batch = session.get(Batch, batch_id)
        try:
            layout = batches.check_layout(batch.firm_id, self._branch_layout(batch.branch_id))
        except (Unavailable, UnknownService):
            log.warning("identity unreachable; batch waits", extra={"batch_id": batch_id})
            batches.release(session, batch_id, token)
            return False
        except NotAllowed:
            batches.fail(session, batch_id, token, "De vestiging hoort niet bij dit kantoor.")
            return True
        except Exception as exc:  # unknown branch, bad layout: nothing to print with
            log.warning("no layout for batch", extra={"batch_id": batch_id, "error": type(exc).__name__})
            batches.fail(session, batch_id, token, "De huisstijl van de vestiging kon niet worden geladen.")
            return True
        try:
            done = batches.render(session, batch_id, token, layout, should_stop=lambda: self.jobs.stopping)
            if done is None:
                batches.release(session, batch_id, token)
                return False
            self.events.emit("batch_rendered", {"batch_id": done.id, "firm_id": done.firm_id,
                                                "branch_id": done.branch_id, "kind": done.kind, "total": done.total})
            self.db.commit()
        except batches.LeaseLost:
            session.rollback()
        except InvalidLayout as exc:
            batches.fail(session, batch_id, token, exc.message)
        except Exception:
            log.exception("rendering a letter batch failed", extra={"batch_id": batch_id})
            batches.fail(session, batch_id, token, "Het aanmaken van de brieven is mislukt.")
        return True

    @timer(interval=3600, eager=True)
    def purge_expired(self):
        count = batches.purge_expired(self.db.session)
        self.db.commit()
        return count

    def _branch_layout(self, branch_id):
        try:
            return self.identity.branch_layout(branch_id=branch_id)
        except (MethodNotFound, RemoteError) as exc:
            if isinstance(exc, RemoteError) and exc.exc_type != "MethodNotFound":
                raise
            # identity without layouts (older release): a sober letter without letterhead
            log.warning("identity has no branch_layout; default letterhead", extra={"branch_id": branch_id})
            return {"id": branch_id}
