"""Routes served by the importer service: the template, the import wizard, the client export."""
import base64
import os
from urllib.parse import quote

from marshmallow import Schema, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from chassis.errors import Invalid, TooLarge
from gateway.api import route
from gateway.errors import register_remote_errors

register_remote_errors({
    "importer.exceptions.FileTooLarge": (413, "file_too_large"),
    "importer.exceptions.UnsupportedFile": (415, "unsupported_file"),
    "importer.exceptions.HostileFile": (422, "hostile_file"),
    "importer.exceptions.UnreadableFile": (422, "unreadable_file"),
    "importer.exceptions.MissingColumns": (422, "missing_columns"),
    "importer.exceptions.ImportNotFound": (404, "import_not_found"),
    "importer.exceptions.BranchNotFound": (404, "branch_not_found"),
    "importer.exceptions.ImportNotReady": (409, "import_not_ready"),
    "importer.exceptions.UnknownGroup": (422, "unknown_group"),
    "importer.exceptions.RowsNotCommittable": (422, "rows_not_committable"),
})

# The importer refuses bigger files too; the gateway refuses them before reading the body.
MAX_IMPORT_BYTES = int(os.environ.get("AKKOORD_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
MULTIPART_OVERHEAD = 64 * 1024
CHUNK = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(Schema):
    file = fields.String(required=True, metadata={"format": "binary", "description": ".xlsx of .csv"})
    branch_id = fields.Integer(load_default=None, allow_none=True)


class ProgressOut(Schema):
    done = fields.Integer()
    total = fields.Integer()
    # only while a job waits for a service that is away; it goes on by itself
    message = fields.String(metadata={"description": "Waarop de import wacht, als hij wacht"})
    waiting_for = fields.String(metadata={"description": "De dienst waarop de import wacht"})
    waiting_since = fields.String(metadata={"description": "Sinds wanneer (UTC, ISO 8601)"})


class SummaryOut(Schema):
    new = fields.Integer()
    update = fields.Integer()
    unchanged = fields.Integer()
    invalid = fields.Integer()


class ImportOut(Schema):
    id = fields.Integer()
    status = fields.String()
    filename = fields.String()
    kind = fields.String()
    size = fields.Integer()
    sha256 = fields.String(allow_none=True)
    progress = fields.Nested(ProgressOut)
    summary = fields.Nested(SummaryOut)
    columns = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True)
    result = fields.Dict(allow_none=True)
    group_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    committed_by = fields.Integer(allow_none=True)
    created_at = fields.String(allow_none=True)
    committed_at = fields.String(allow_none=True)


class ImportListOut(Schema):
    items = fields.List(fields.Nested(ImportOut))


class RowsQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ("new", "update", "unchanged", "invalid", "failed")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class RowOut(Schema):
    row = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    values = fields.Dict()
    errors = fields.Dict()
    changes = fields.List(fields.String())
    previous = fields.Dict(metadata={"description": "huidige waarde per veld dat wijzigt"})


class RowsOut(Schema):
    items = fields.List(fields.Nested(RowOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CommitIn(Schema):
    rows = fields.Raw(load_default="all", metadata={"description": '"all" of een lijst met rijnummers'})
    group_id = fields.Integer(load_default=None, allow_none=True)


class ExportQuery(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))


def _download(content: bytes, filename: str, mimetype: str) -> Response:
    ascii_name = "".join(c for c in filename if 32 <= ord(c) < 127 and c not in '"\\') or "export"
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


class ImportRoutes:
    @route("GET", "/api/v1/imports/template", summary="Het Excel-sjabloon voor de cliëntimport", tags=["import"],
           produces=XLSX)
    def import_template(self, request, ctx):
        result = self.importer.template(principal=ctx.principal)
        return _download(base64.b64decode(result["content_base64"]), result["filename"], XLSX)

    @route("POST", "/api/v1/imports", summary="Cliëntbestand (.xlsx of .csv) uploaden", tags=["import"],
           body=UploadForm(), content="multipart/form-data", response=ImportOut(), status=202)
    def upload_import(self, request, ctx):
        return upload_file(self.importer, request, ctx.principal), 202

    @route("GET", "/api/v1/imports", summary="Eerdere imports", tags=["import"], response=ImportListOut())
    def list_imports(self, request, ctx):
        return {"items": self.importer.list_imports(principal=ctx.principal)}

    @route("GET", "/api/v1/imports/<int:import_id>", summary="Status, voortgang en samenvatting van een import",
           tags=["import"], response=ImportOut())
    def import_status(self, request, ctx, import_id):
        return self.importer.import_status(principal=ctx.principal, import_id=import_id)

    @route("GET", "/api/v1/imports/<int:import_id>/rows", summary="Rijen van de voorvertoning met status en fouten",
           tags=["import"], query=RowsQuery(), response=RowsOut())
    def import_rows(self, request, ctx, import_id):
        query = {k: v for k, v in ctx.query.items() if v is not None}
        return self.importer.import_rows(principal=ctx.principal, import_id=import_id, query=query)

    @route("POST", "/api/v1/imports/<int:import_id>/commit", summary="Gekozen rijen doorvoeren", tags=["import"],
           body=CommitIn(), response=ImportOut(), status=202)
    def commit_import(self, request, ctx, import_id):
        return self.importer.commit_import(principal=ctx.principal, import_id=import_id, payload=ctx.body), 202

    @route("GET", "/api/v1/clients/export", summary="Zichtbare cliënten exporteren (.xlsx of .csv)",
           tags=["clients"], query=ExportQuery(), produces=XLSX)
    def export_clients(self, request, ctx):
        result = self.importer.export_clients(principal=ctx.principal, payload={"format": ctx.query["format"]})
        return _download(base64.b64decode(result["content_base64"]), result["filename"], result["mimetype"])


def upload_file(importer, request, principal) -> dict:
    """A client file from a multipart request to the importer (the API's upload and the staff page's): the size
    refused before the body is read, then passed on in pieces of CHUNK; the importer checks what it is."""
    # Refuse an oversized body before reading it.
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES + MULTIPART_OVERHEAD:
        raise TooLarge(f"Het bestand is te groot; het maximum is {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
                       {"limit": MAX_IMPORT_BYTES})
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise Invalid("Stuur het bestand als multipart/form-data in het veld 'file'.", {"field": "file"})
    request.max_content_length = MAX_IMPORT_BYTES + MULTIPART_OVERHEAD
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:  # a body without Content-Length that grows past the limit
        raise TooLarge(f"Het bestand is te groot; het maximum is {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
                       {"limit": MAX_IMPORT_BYTES}) from None
    if upload is None or not upload.filename:
        raise Invalid("Kies een bestand.", {"fields": {"file": ["Kies een bestand."]}})
    raw_branch = request.form.get("branch_id") or None
    form = UploadForm().load({"file": "-", "branch_id": raw_branch})
    started = importer.start_upload(principal=principal, payload={
        "filename": upload.filename, "branch_id": form["branch_id"]})
    seq = 0
    while True:
        chunk = upload.stream.read(CHUNK)
        if not chunk:
            break
        importer.upload_chunk(principal=principal, payload={
            "import_id": started["id"], "seq": seq, "data": base64.b64encode(chunk).decode()})
        seq += 1
    return importer.finish_upload(principal=principal, import_id=started["id"])
