"""marshmallow schemas for approval's RPC input (every RPC payload is loaded through one)."""
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

RIGHTS = ("may", "must", "none")
STATUSES = ("pending", "approved", "declined", "withdrawn", "all")
TYPE_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,49}$", error="Gebruik 2 tot 50 kleine letters, cijfers of _.")
ID = validate.Range(min=1, max=2**31 - 1)
SECRET = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class AuditSchema(Schema):
    """Where an action came from, as the gateway saw it (kept in the evidence)."""
    ip = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=45))
    user_agent = fields.String(load_default=None, allow_none=True)


class UploadSchema(Schema):
    client_id = fields.Integer(required=True, validate=ID)
    document_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    filename = fields.String(load_default="document.pdf", validate=validate.Length(max=255))
    content_base64 = fields.String(required=True)
    replaces_request_id = fields.Integer(load_default=None, allow_none=True, validate=ID)


class DocumentTypeSchema(Schema):
    code = fields.String(required=True, validate=TYPE_CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SetRightSchema(Schema):
    user_id = fields.Integer(required=True, validate=ID)
    document_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    right = fields.String(required=True, validate=validate.OneOf(RIGHTS))
    pin = SECRET


class ClientSettingsSchema(Schema):
    self_manage = fields.Boolean(required=True)


class ListSchema(Schema):
    status = fields.String(load_default="pending", validate=validate.OneOf(STATUSES))
    client_id = fields.Integer(load_default=None, allow_none=True, validate=ID)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ConfirmSchema(Schema):
    pin = SECRET
    code = SECRET

    @validates_schema
    def one_secret(self, data, **_):
        if bool(data.get("pin")) == bool(data.get("code")):
            raise ValidationError("Geef uw PIN-code of de sms-code.", "pin")


class DeclineSchema(ConfirmSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates("reason")
    def not_blank(self, value, **_):
        # a decline ends the request: the firm must learn why, spaces say nothing
        if not value.strip():
            raise ValidationError("Geef een reden voor de afwijzing.")

    @post_load
    def strip_reason(self, data, **_):
        data["reason"] = data["reason"].strip()
        return data


class WithdrawSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class SharedDocumentSchema(Schema):
    branch_id = fields.Integer(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    filename = fields.String(load_default="document.pdf", validate=validate.Length(min=1, max=255))
    content_base64 = fields.String(required=True)
