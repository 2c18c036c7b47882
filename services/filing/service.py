"""filing's entrypoints: thin; the rules live in filings.py, the KvK side in channels.py."""
from nameko.timer import timer

from chassis.db import Database
from chassis.entrypoints import rpc, transactional
from chassis.health import HealthCheck
from chassis.inbox import idempotent_handler
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from filing import client_branches, filings
from filing.channels import configured_channel
from filing.models import inbox, outbox
from filing.schemas import FileSchema, ListSchema


class FilingService:
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
        return filings.file(self.db.session, Principal.load(principal), data["approval_id"],
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

    # -- identity's client events: the client → branch copy ---------------------
    @idempotent_handler(inbox, "identity", "client_created")
    def on_client_created(self, data, envelope):
        client_branches.apply_event(self.db.session, "client_created", data, envelope)

    @idempotent_handler(inbox, "identity", "client_updated")
    def on_client_updated(self, data, envelope):
        client_branches.apply_event(self.db.session, "client_updated", data, envelope)

    @idempotent_handler(inbox, "identity", "clients_imported")
    def on_clients_imported(self, data, envelope):
        client_branches.apply_event(self.db.session, "clients_imported", data, envelope)

    @rpc
    def ping(self):
        return self.health.status()
