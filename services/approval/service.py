"""approval's entrypoints: thin; the rules live in the domain modules."""
import logging

from chassis import client_branches as client_branch_copy
from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from approval import client_branches, decisions, documents, requests, rights, shared_documents
from approval.exceptions import NotAllowed
from approval.identity_client import Identity
from approval.models import ClientBranch, inbox, outbox
from approval.schemas import (AuditSchema, ClientSettingsSchema, ConfirmSchema, DeclineSchema, DocumentTypeSchema,
                              ListSchema, SetRightSchema, SharedDocumentSchema, UploadSchema, WithdrawSchema)

log = logging.getLogger(__name__)

# Built once: building a Schema copies its fields, which costs as much as a load.
AUDIT_INPUT = AuditSchema()
CLIENT_SETTINGS_INPUT = ClientSettingsSchema()
CONFIRM_INPUT = ConfirmSchema()
DECLINE_INPUT = DeclineSchema()
DOCUMENT_TYPE_INPUT = DocumentTypeSchema()
LIST_INPUT = ListSchema()
SET_RIGHT_INPUT = SetRightSchema()
SHARED_DOCUMENT_INPUT = SharedDocumentSchema()
UPLOAD_INPUT = UploadSchema()
WITHDRAW_INPUT = WithdrawSchema()


def _audit(audit) -> dict:
    return AUDIT_INPUT.load(audit or {})


class ApprovalService(client_branch_copy.event_handlers(inbox, ClientBranch, client_branches.FOLLOWERS)):
    name = "approval"

    db = Database("approval")
    events = EventOutbox(outbox)
    health = HealthCheck()
    identity_rpc = ServiceRpc("identity")
    letters = ServiceRpc("letters")

    @property
    def identity(self) -> Identity:
        return Identity(self.identity_rpc)

    # -- document types ------------------------------------------------------
    @rpc
    def document_types(self, principal):
        return documents.list_types(self.db.session, Principal.load(principal))

    @rpc
    def add_document_type(self, principal, payload):
        return documents.add_type(self.db.session, Principal.load(principal), DOCUMENT_TYPE_INPUT.load(payload))

    # -- documents and requests ----------------------------------------------
    @rpc
    def upload_document(self, principal, payload, audit=None):
        p = Principal.load(principal)
        data = UPLOAD_INPUT.load(payload)
        requests.require_uploader(p)
        client = self.identity.client_scope(p, data["client_id"])
        users = self.identity.client_users(p, data["client_id"])
        return requests.open_request(self.db.session, p, client, users, data, _audit(audit), self.events)

    @rpc(read_only=True)
    def list_requests(self, principal, query=None):
        return requests.screen(self.db.session, Principal.load(principal), LIST_INPUT.load(query or {}))

    @rpc
    def get_request(self, principal, request_id):
        p = Principal.load(principal)
        return requests.view(self.db.session, p, requests.visible(self.db.session, p, int(request_id)))

    @rpc
    def document(self, principal, request_id, audit=None):
        return requests.document_for(self.db.session, Principal.load(principal), int(request_id), _audit(audit))

    @rpc
    def withdraw(self, principal, request_id, payload=None, audit=None):
        return requests.withdraw(self.db.session, Principal.load(principal), int(request_id),
                                 WITHDRAW_INPUT.load(payload or {}), _audit(audit), self.events)

    @rpc
    def reopen(self, principal, request_id, audit=None):
        p = Principal.load(principal)
        requests.require_uploader(p)
        old = requests.visible(self.db.session, p, int(request_id))
        client = self.identity.client_scope(p, old.client_id)
        users = self.identity.client_users(p, old.client_id)
        return requests.reopen(self.db.session, p, old.id, client, users, _audit(audit), self.events)

    @rpc
    def approved_document(self, principal, request_id):
        """For filing: an approved request's PDF and who approved it."""
        return requests.approved_document(self.db.session, Principal.load(principal), int(request_id))

    # -- decisions -----------------------------------------------------------
    @rpc
    def send_code(self, principal, request_id, audit=None):
        return decisions.send_code(self.db.session, Principal.load(principal), int(request_id), _audit(audit),
                                   self.identity.send_confirmation_code)

    @rpc
    def approve(self, principal, request_id, payload, audit=None):
        return decisions.approve(self.db.session, Principal.load(principal), int(request_id),
                                 CONFIRM_INPUT.load(payload or {}), _audit(audit),
                                 self.identity.check_confirmation, self.events)

    @rpc
    def decline(self, principal, request_id, payload, audit=None):
        return decisions.decline(self.db.session, Principal.load(principal), int(request_id),
                                 DECLINE_INPUT.load(payload or {}), _audit(audit),
                                 self.identity.check_confirmation, self.events)

    # -- evidence ------------------------------------------------------------
    @rpc
    def evidence(self, principal, request_id):
        return requests.export(self.db.session, Principal.load(principal), int(request_id))

    @rpc
    def evidence_certificate(self, principal, request_id):
        export = requests.export(self.db.session, Principal.load(principal), int(request_id))
        branch_id = export["request"]["branch_id"]
        layout = self.identity.branch_layout(branch_id) if branch_id else None
        rendered = self.letters.render_certificate(payload=requests.certificate_payload(export, layout))
        return {"filename": f"bewijs-accordering-{export['request']['id']}.pdf",
                "pdf_base64": rendered["pdf_base64"], "verification": export["verification"]}

    # -- rights --------------------------------------------------------------
    @rpc
    def client_rights(self, principal, client_id):
        p = Principal.load(principal)
        if not (p.is_staff or int(client_id) in p.superuser_client_ids):
            raise NotAllowed("U heeft geen rechten om accordeerrechten in te zien.")
        client = self.identity.client_scope(p, int(client_id))
        users = self.identity.client_users(p, int(client_id))
        return rights.matrix(self.db.session, client, users, documents.types_of(self.db.session, client["firm_id"]))

    @rpc
    def set_right(self, principal, client_id, payload, audit=None):
        p = Principal.load(principal)
        data = SET_RIGHT_INPUT.load(payload)
        client = self.identity.client_scope(p, int(client_id))
        as_who = rights.require_manager(self.db.session, p, client["id"])
        documents.require_type(self.db.session, client["firm_id"], data["document_type"])
        users = self.identity.client_users(p, client["id"])
        if as_who == "client":
            rights.require_pin(p, data.get("pin"), client["id"], self.identity.check_confirmation)
        result = rights.set_right(self.db.session, p, client, users, data)
        log.info("approval right set", extra={"client_id": client["id"], "user_id": data["user_id"],
                                              "document_type": data["document_type"], "right": data["right"],
                                              "by": p.user_id, "as": as_who})
        return result

    @rpc
    def set_client_settings(self, principal, client_id, payload):
        p = Principal.load(principal)
        data = CLIENT_SETTINGS_INPUT.load(payload)
        client = self.identity.client_scope(p, int(client_id))
        return rights.set_settings(self.db.session, p, client, data)

    # -- shared documents ----------------------------------------------------
    def _client_branches(self, p) -> list:
        if not p.is_client:
            return []
        return [self.identity.client_scope(p, cid).get("branch_id") for cid in p.client_ids]

    @rpc
    def post_shared_document(self, principal, payload):
        p = Principal.load(principal)
        data = SHARED_DOCUMENT_INPUT.load(payload)
        return shared_documents.post(self.db.session, p, data,
                                     self.identity.branch_firm_id)

    @rpc
    def shared_documents(self, principal):
        p = Principal.load(principal)
        return shared_documents.listing(self.db.session, p, self._client_branches(p))

    @rpc
    def shared_document(self, principal, document_id):
        p = Principal.load(principal)
        return shared_documents.fetch(self.db.session, p, int(document_id), self._client_branches(p))

    @rpc
    def ping(self):
        return self.health.status()
