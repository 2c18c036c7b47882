"""marshmallow schemas at letters' edges: every RPC input is loaded through one."""
import re

from marshmallow import EXCLUDE, Schema, fields, validate, validates, ValidationError

KINDS = ("pin", "activation")
MAX_LETTERS = 20000
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class LetterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    recipient_name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    client_name = fields.String(load_default="", allow_none=True, validate=validate.Length(max=300))
    street = fields.String(load_default="", allow_none=True, validate=validate.Length(max=300))
    house_number = fields.String(load_default="", allow_none=True, validate=validate.Length(max=40))
    postcode = fields.String(load_default="", allow_none=True, validate=validate.Length(max=20))
    city = fields.String(load_default="", allow_none=True, validate=validate.Length(max=200))
    country = fields.String(load_default="", allow_none=True, validate=validate.Length(max=100))
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    secret = fields.String(required=True, validate=validate.Length(min=4, max=100))


class CreateBatchSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    branch_id = fields.Integer(load_default=None, allow_none=True)
    portal_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    letters = fields.List(fields.Nested(LetterSchema), required=True,
                          validate=validate.Length(min=1, max=MAX_LETTERS))
    # held until identity confirms (letter_batches_confirmed) that the change issuing these secrets committed
    hold = fields.Boolean(load_default=False)


class BatchesConfirmedSchema(Schema):
    """identity's ``letter_batches_confirmed`` event."""
    class Meta:
        unknown = EXCLUDE

    batch_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(min=1))


class BatchRefSchema(Schema):
    batch_id = fields.Integer(required=True, strict=False)


class LayoutSchema(Schema):
    """identity's ``branch_layout(branch_id)``; missing parts get a sober default."""
    class Meta:
        unknown = EXCLUDE

    id = fields.Integer(load_default=None, allow_none=True)
    firm_id = fields.Integer(load_default=None, allow_none=True)
    name = fields.String(load_default="", allow_none=True)
    display_name = fields.String(load_default=None, allow_none=True)
    logo_png = fields.String(load_default=None, allow_none=True)
    primary_color = fields.String(load_default=None, allow_none=True)
    secondary_color = fields.String(load_default=None, allow_none=True)
    letterhead = fields.String(load_default=None, allow_none=True)
    street = fields.String(load_default=None, allow_none=True)
    house_number = fields.String(load_default=None, allow_none=True)
    postcode = fields.String(load_default=None, allow_none=True)
    city = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)

    @validates("primary_color")
    def _primary(self, value, **_):
        if value and not _COLOR.match(value):
            raise ValidationError("Kleur als #rrggbb.")

    @validates("secondary_color")
    def _secondary(self, value, **_):
        if value and not _COLOR.match(value):
            raise ValidationError("Kleur als #rrggbb.")


class EvidenceEventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    at = fields.String(required=True)  # ISO time, UTC
    event = fields.String(required=True)  # created | viewed | code_sent | approved | declined | withdrawn
    actor = fields.String(load_default="", allow_none=True)
    method = fields.String(load_default="", allow_none=True)
    ip = fields.String(load_default="", allow_none=True)
    user_agent = fields.String(load_default="", allow_none=True)
    document_sha256 = fields.String(load_default="", allow_none=True)
    reason = fields.String(load_default="", allow_none=True)
    hash = fields.String(load_default="", allow_none=True)


class CertificateSchema(Schema):
    """An approval's evidence, as the approval service exports it."""
    class Meta:
        unknown = EXCLUDE

    request_id = fields.Integer(required=True)
    firm_name = fields.String(load_default="", allow_none=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    document_type = fields.String(load_default="", allow_none=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$"))
    client = fields.Dict(load_default=dict)  # {number, name}
    status = fields.String(load_default="", allow_none=True)
    events = fields.List(fields.Nested(EvidenceEventSchema), required=True)
    chain_valid = fields.Boolean(load_default=None, allow_none=True)
    layout = fields.Dict(load_default=None, allow_none=True)
