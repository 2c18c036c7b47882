"""marshmallow schemas for filing's RPC input."""
from marshmallow import Schema, fields, validate


class FileSchema(Schema):
    approval_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))


class ListSchema(Schema):
    client_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(load_default=None,
                           validate=validate.OneOf(["queued", "submitted", "accepted", "rejected", "failed"]))
