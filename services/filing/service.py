"""filing's entrypoints: thin; the rules live in filings.py, the KvK side in channels.py."""
import logging

from nameko.timer import timer

from chassis import client_branches as client_branch_copy
from chassis.db import Database
from chassis.entrypoints import rpc, transactional
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from filing import client_branches, filings
from filing.channels import configured_channel
from filing.models import ClientBranch, inbox, outbox
from filing.schemas import FileSchema, ListSchema

log = logging.getLogger(__name__)


class FilingService(client_branch_copy.event_handlers(inbox, ClientBranch, client_branches.FOLLOWERS)):
    name = "filing"

    db = Database("filing")
    events = EventOutbox(outbox)
    health = HealthCheck()
    approval = ServiceRpc("approval")
    identity = ServiceRpc("identity")
    channel = configured_channel()

    @rpc
    def file_annual_accounts(self, principal, payload):
        data = FileSchema().load(payload or {})
        return filings.file(self.db, Principal.load(principal), data["approval_id"],
                            self.approval.approved_document, self.identity.get_client, self.channel, self.events)

    @rpc
    def get_filing(self, principal, filing_id):
        return filings.get(self.db.session, Principal.load(principal), int(filing_id))

    @rpc
    def list_filings(self, principal, query=None):
        data = ListSchema().load(query or {})
        return filings.list_filings(self.db.session, Principal.load(principal), **data)

    @timer(interval=1)
    @transactional
    def poll_channel(self):
        filings.poll(self.db.session, self.channel, self.events)

    # Queued filings (channel down at filing time, or a worker that died mid-call), any replica.
    @timer(interval=1)
    def submit_queued(self):
        try:
            filings.submit_due(self.db, self.channel, self.events)
        except Exception:
            self.db.rollback()
            log.exception("filing submission pass failed")

    @rpc
    def ping(self):
        return self.health.status()
