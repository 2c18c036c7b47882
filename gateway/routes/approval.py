"""Routes served by the approval service: documents, rights, the approval screen, decisions,
evidence, shared documents."""
import base64
from urllib.parse import quote

from marshmallow import Schema, fields, validate
from werkzeug.wrappers import Response

from chassis.errors import Invalid, TooLarge
from gateway.api import route
from gateway.errors import register_remote_errors

register_remote_errors({
    "approval.exceptions.RequestNotFound": (404, "approval_not_found"),
    "approval.exceptions.DocumentNotFound": (404, "document_not_found"),
    "approval.exceptions.NotAPdf": (422, "not_a_pdf"),
    "approval.exceptions.DocumentTooLarge": (413, "document_too_large"),
    "approval.exceptions.UnknownDocumentType": (422, "unknown_document_type"),
    "approval.exceptions.DocumentTypeExists": (409, "document_type_exists"),
    "approval.exceptions.NoApprovers": (422, "no_approvers"),
    "approval.exceptions.MustNeedsSms": (422, "must_needs_sms"),
    "approval.exceptions.UnknownClientUser": (422, "unknown_client_user"),
    "approval.exceptions.RequestClosed": (409, "request_closed"),
    "approval.exceptions.AlreadyDecided": (409, "already_decided"),
    "approval.exceptions.DocumentAltered": (409, "document_altered"),
    "approval.exceptions.ConfirmationRequired": (422, "confirmation_required"),
    "approval.exceptions.NotEligible": (403, "not_eligible"),
    "approval.exceptions.SelfManagementOff": (403, "self_management_off"),
    "approval.exceptions.NotAllowed": (403, "forbidden"),
    "approval.exceptions.WrongPin": (422, "wrong_pin"),
    "approval.exceptions.PinLocked": (429, "pin_locked"),
    "approval.exceptions.SmsLimitReached": (429, "sms_limit"),
    "approval.exceptions.NoPin": (422, "no_pin"),
    "approval.exceptions.MobileRequired": (422, "mobile_required"),
    "approval.exceptions.SmsFailed": (422, "sms_failed"),
    "approval.exceptions.WrongCode": (422, "wrong_code"),
    "approval.exceptions.CodeExpired": (422, "code_expired"),
})

MAX_UPLOAD_BYTES = 20 * 1024 * 1024 + 64 * 1024  # the document plus the form around it


class UploadForm(Schema):
    client_id = fields.Integer(required=True, validate=validate.Range(min=1))
    document_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    replaces_request_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadOut(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    approval_id = fields.Integer()
    status = fields.String()
    rule = fields.String()
    approver_user_ids = fields.List(fields.Integer())


class DocumentTypeIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=2, max=50))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DocumentTypeOut(Schema):
    code = fields.String()
    name = fields.String()
    builtin = fields.Boolean()


class DocumentTypesOut(Schema):
    items = fields.List(fields.Nested(DocumentTypeOut))


class RightIn(Schema):
    user_id = fields.Integer(required=True)
    document_type = fields.String(required=True)
    right = fields.String(required=True, validate=validate.OneOf(("may", "must", "none")))
    pin = fields.String(load_default=None, allow_none=True, load_only=True)


class RightOut(Schema):
    client_id = fields.Integer()
    user_id = fields.Integer()
    document_type = fields.String()
    right = fields.String()
    open_requests_unchanged = fields.List(fields.Integer())


class ClientSettingsIn(Schema):
    self_manage = fields.Boolean(required=True)


class ClientSettingsOut(Schema):
    client_id = fields.Integer()
    self_manage = fields.Boolean()


class ListQuery(Schema):
    status = fields.String(load_default="pending",
                           validate=validate.OneOf(("pending", "approved", "declined", "withdrawn", "all")))
    client_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PersonOut(Schema):
    user_id = fields.Integer()
    name = fields.String(allow_none=True)
    at = fields.String(allow_none=True)
    role = fields.String()


class ClientRefOut(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class RequestOut(Schema):
    id = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    client = fields.Nested(ClientRefOut)
    branch_id = fields.Integer(allow_none=True)
    document_type = fields.String()
    document_type_name = fields.String()
    title = fields.String()
    sha256 = fields.String()
    document_id = fields.Integer()
    rule = fields.String()
    opened_at = fields.String()
    closed_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    approved_by = fields.List(fields.Nested(PersonOut))
    declined_by = fields.List(fields.Nested(PersonOut))
    waiting_for = fields.List(fields.Nested(PersonOut))
    rights_changed = fields.Boolean()
    rights_changed_note = fields.String(allow_none=True)
    replaces_id = fields.Integer(allow_none=True)
    replaced_by_id = fields.Integer(allow_none=True)
    my_role = fields.String(allow_none=True)
    my_decision = fields.String(allow_none=True)


class RequestListOut(Schema):
    items = fields.List(fields.Nested(RequestOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ConfirmIn(Schema):
    pin = fields.String(load_default=None, allow_none=True, load_only=True)
    code = fields.String(load_default=None, allow_none=True, load_only=True)


class DeclineIn(ConfirmIn):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class WithdrawIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class DecisionOut(Schema):
    id = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)
    approved_by = fields.List(fields.Nested(PersonOut))
    declined_by = fields.List(fields.Nested(PersonOut))
    waiting_for = fields.List(fields.Nested(PersonOut))


class SentOut(Schema):
    sent = fields.Boolean()
    request_id = fields.Integer()


class EvidenceQuery(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")))


class EvidenceOut(Schema):
    request = fields.Nested(RequestOut)
    document = fields.Dict()
    records = fields.List(fields.Dict())
    verification = fields.Dict()
    exported_at = fields.String()
    hash_algorithm = fields.String()


class SharedForm(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    branch_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class SharedOut(Schema):
    id = fields.Integer()
    branch_id = fields.Integer(allow_none=True)
    firm_wide = fields.Boolean()
    title = fields.String()
    description = fields.String(allow_none=True)
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    posted_at = fields.String()
    posted_by = fields.Integer(allow_none=True)


class SharedListOut(Schema):
    items = fields.List(fields.Nested(SharedOut))
    total = fields.Integer()


def _form(request, schema: Schema, optional_empty=("replaces_request_id", "branch_id", "description")) -> tuple:
    """A multipart form loaded through ``schema`` (without the file) and the uploaded file's bytes."""
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
        raise TooLarge("Het bestand is te groot (hoogstens 20 MB).", {"field": "file"})
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise Invalid("Stuur het bestand als multipart/form-data.", {"field": "file"})
    form = {k: v for k, v in request.form.to_dict().items() if not (k in optional_empty and v == "")}
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Kies een bestand.", {"fields": {"file": ["Kies een bestand."]}})
    form["file"] = "-"
    data = schema.load(form)
    data.pop("file", None)
    content = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise TooLarge("Het bestand is te groot (hoogstens 20 MB).", {"field": "file"})
    return data, upload.filename or "document", content


def file_response(content: bytes, filename: str, mimetype: str) -> Response:
    ascii_name = "".join(c for c in filename if 32 <= ord(c) < 127 and c not in '"\\') or "document"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


class ApprovalRoutes:
    # -- document types ----------------------------------------------------------
    @route("GET", "/api/v1/document-types", summary="Documenttypes (standaard en van het kantoor)",
           tags=["approval"], response=DocumentTypesOut())
    def document_types(self, request, ctx):
        return {"items": self.approval.document_types(principal=ctx.principal)}

    @route("POST", "/api/v1/document-types", summary="Eigen documenttype toevoegen", tags=["approval"],
           body=DocumentTypeIn(), response=DocumentTypeOut(), status=201)
    def add_document_type(self, request, ctx):
        return self.approval.add_document_type(principal=ctx.principal, payload=ctx.body)

    # -- documents -----------------------------------------------------------------
    @route("POST", "/api/v1/documents", summary="Document (PDF) ter accordering aanbieden", tags=["approval"],
           body=UploadForm(), content="multipart/form-data", response=UploadOut(), status=201)
    def upload_document(self, request, ctx):
        data, filename, content = _form(request, UploadForm())
        payload = dict(data, filename=filename, content_base64=base64.b64encode(content).decode())
        return self.approval.upload_document(principal=ctx.principal, payload=payload, audit=ctx.audit), 201

    # -- rights --------------------------------------------------------------------
    @route("GET", "/api/v1/clients/<int:client_id>/approval-rights", summary="Accordeerrechten van een cliënt",
           tags=["approval"])
    def client_rights(self, request, ctx, client_id):
        return self.approval.client_rights(principal=ctx.principal, client_id=client_id)

    @route("PUT", "/api/v1/clients/<int:client_id>/approval-rights",
           summary="Accordeerrecht (mag/moet/geen) van een gebruiker voor een documenttype", tags=["approval"],
           body=RightIn(), response=RightOut())
    def set_right(self, request, ctx, client_id):
        return self.approval.set_right(principal=ctx.principal, client_id=client_id, payload=ctx.body,
                                       audit=ctx.audit)

    @route("PUT", "/api/v1/clients/<int:client_id>/approval-settings",
           summary="Mag de cliënt zijn accordeerrechten zelf beheren?", tags=["approval"],
           body=ClientSettingsIn(), response=ClientSettingsOut())
    def set_client_settings(self, request, ctx, client_id):
        return self.approval.set_client_settings(principal=ctx.principal, client_id=client_id, payload=ctx.body)

    # -- the approval screen and one request --------------------------------------
    @route("GET", "/api/v1/approvals", summary="Het accordeerscherm: verzoeken van al uw cliënten",
           tags=["approval"], query=ListQuery(), response=RequestListOut())
    def list_approvals(self, request, ctx):
        return self.approval.list_requests(principal=ctx.principal, query=ctx.query)

    @route("GET", "/api/v1/approvals/<int:request_id>", summary="Eén accordeerverzoek", tags=["approval"],
           response=RequestOut())
    def get_approval(self, request, ctx, request_id):
        return self.approval.get_request(principal=ctx.principal, request_id=request_id)

    @route("GET", "/api/v1/approvals/<int:request_id>/document", summary="Het document (PDF); wordt vastgelegd",
           tags=["approval"], produces="application/pdf")
    def approval_document(self, request, ctx, request_id):
        doc = self.approval.document(principal=ctx.principal, request_id=request_id, audit=ctx.audit)
        return file_response(base64.b64decode(doc["pdf_base64"]), doc["filename"], "application/pdf")

    @route("POST", "/api/v1/approvals/<int:request_id>/sms", summary="Sms-code voor dit verzoek sturen",
           tags=["approval"], response=SentOut(), status=202)
    def approval_sms(self, request, ctx, request_id):
        return self.approval.send_code(principal=ctx.principal, request_id=request_id, audit=ctx.audit), 202

    @route("POST", "/api/v1/approvals/<int:request_id>/approve", summary="Accorderen met PIN of sms-code",
           tags=["approval"], body=ConfirmIn(), response=DecisionOut())
    def approve(self, request, ctx, request_id):
        return self.approval.approve(principal=ctx.principal, request_id=request_id, payload=ctx.body,
                                     audit=ctx.audit)

    @route("POST", "/api/v1/approvals/<int:request_id>/decline", summary="Afwijzen met reden, PIN of sms-code",
           tags=["approval"], body=DeclineIn(), response=DecisionOut())
    def decline(self, request, ctx, request_id):
        return self.approval.decline(principal=ctx.principal, request_id=request_id, payload=ctx.body,
                                     audit=ctx.audit)

    @route("POST", "/api/v1/approvals/<int:request_id>/withdraw", summary="Verzoek intrekken (kantoor)",
           tags=["approval"], body=WithdrawIn(), response=RequestOut())
    def withdraw(self, request, ctx, request_id):
        return self.approval.withdraw(principal=ctx.principal, request_id=request_id, payload=ctx.body,
                                      audit=ctx.audit)

    @route("POST", "/api/v1/approvals/<int:request_id>/reopen",
           summary="Verzoek heropenen met de huidige accordeerrechten (kantoor)", tags=["approval"],
           response=RequestOut(), status=201)
    def reopen(self, request, ctx, request_id):
        return self.approval.reopen(principal=ctx.principal, request_id=request_id, audit=ctx.audit), 201

    @route("GET", "/api/v1/approvals/<int:request_id>/evidence",
           summary="Bewijs van een verzoek (JSON met verificatie, of ?format=pdf)", tags=["approval"],
           query=EvidenceQuery(), response=EvidenceOut())
    def evidence(self, request, ctx, request_id):
        if ctx.query.get("format") == "pdf":
            cert = self.approval.evidence_certificate(principal=ctx.principal, request_id=request_id)
            return file_response(base64.b64decode(cert["pdf_base64"]), cert["filename"], "application/pdf")
        return self.approval.evidence(principal=ctx.principal, request_id=request_id)

    # -- shared documents ----------------------------------------------------------
    @route("GET", "/api/v1/shared-documents", summary="Gedeelde documenten (vestiging of kantoorbreed)",
           tags=["documents"], response=SharedListOut())
    def shared_documents(self, request, ctx):
        return self.approval.shared_documents(principal=ctx.principal)

    @route("POST", "/api/v1/shared-documents", summary="Document delen met een vestiging of kantoorbreed",
           tags=["documents"], body=SharedForm(), content="multipart/form-data", response=SharedOut(),
           status=201)
    def post_shared_document(self, request, ctx):
        data, filename, content = _form(request, SharedForm())
        payload = dict(data, filename=filename, content_base64=base64.b64encode(content).decode())
        return self.approval.post_shared_document(principal=ctx.principal, payload=payload), 201

    @route("GET", "/api/v1/shared-documents/<int:document_id>", summary="Gedeeld document downloaden",
           tags=["documents"], produces="application/octet-stream")
    def shared_document(self, request, ctx, document_id):
        doc = self.approval.shared_document(principal=ctx.principal, document_id=document_id)
        return file_response(base64.b64decode(doc["content_base64"]), doc["filename"], doc["content_type"])
