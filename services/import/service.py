"""importer's entrypoints: thin; the rules live in the domain modules."""
import base64

from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from importer import export, imports, jobs, template
from importer.models import outbox
from importer.schemas import ChunkSchema, CommitSchema, ExportSchema, RowsQuerySchema, StartUploadSchema


class ImporterService:
    name = "importer"

    db = Database("importer")
    events = EventOutbox(outbox)
    health = HealthCheck()
    identity = ServiceRpc("identity", timeout=300)
    identity_for_jobs = jobs.JobIdentityRpc()  # a shorter deadline: past it, a job waits for identity instead

    @rpc
    def template(self, principal):
        p = Principal.load(principal)
        p.require_staff()
        names = list(jobs.branches_of(self.identity, principal))
        return {"filename": "akkoord-importsjabloon.xlsx",
                "content_base64": base64.b64encode(template.build(names)).decode()}

    @rpc
    def start_upload(self, principal, payload):
        return imports.start(self.db.session, self.identity, Principal.load(principal),
                             StartUploadSchema().load(payload))

    @rpc
    def upload_chunk(self, principal, payload):
        return imports.add_chunk(self.db.session, Principal.load(principal), ChunkSchema().load(payload))

    @rpc
    def finish_upload(self, principal, import_id):
        result = imports.finish(self.db.session, Principal.load(principal), int(import_id))
        self.db.after_commit.append(jobs.wake_all)
        return result

    @rpc
    def import_status(self, principal, import_id):
        return imports.status(self.db.session, Principal.load(principal), int(import_id))

    @rpc
    def list_imports(self, principal):
        return imports.history(self.db.session, Principal.load(principal))

    @rpc
    def import_rows(self, principal, import_id, query=None):
        return imports.rows(self.db.session, Principal.load(principal), int(import_id),
                            RowsQuerySchema().load(query or {}))

    @rpc
    def commit_import(self, principal, import_id, payload):
        p = Principal.load(principal)
        data = CommitSchema().load(payload)
        imports.check_group(self.identity, principal, data.get("group_id"), int(import_id))
        result = imports.request_commit(self.db.session, p, int(import_id), data)
        self.db.after_commit.append(jobs.wake_all)
        return result

    @rpc
    def export_clients(self, principal, payload):
        data = ExportSchema().load(payload or {})
        return export.export(self.identity, Principal.load(principal), principal, data["format"])

    @jobs.import_job
    def run_job(self, import_id, owner, poller=None):
        return jobs.run(self.db.session, self.identity_for_jobs, import_id, owner, poller)

    @rpc
    def ping(self):
        return self.health.status()
