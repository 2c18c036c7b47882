"""marshmallow schemas for importer's RPC input."""
from marshmallow import Schema, ValidationError, fields, validate

from importer.imports import STATUSES


class StartUploadSchema(Schema):
    # a name is shown back and stored as text: a NUL (which PostgreSQL refuses in text) is bad input, not a 500
    filename = fields.String(required=True, validate=[
        validate.Length(min=1, max=255),
        validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="De bestandsnaam bevat een ongeldig teken.")])
    branch_id = fields.Integer(load_default=None, allow_none=True)
    size = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


class ChunkSchema(Schema):
    import_id = fields.Integer(required=True)
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=100000))
    data = fields.String(required=True, validate=validate.Length(max=2 * 1024 * 1024))


class RowChoice(fields.Field):
    """``"all"`` or a list of row numbers."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "all":
            return "all"
        if isinstance(value, list) and len(value) <= 1_000_000 and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            return value
        raise ValidationError('Kies "all" of een lijst met rijnummers.')


class CommitSchema(Schema):
    rows = RowChoice(load_default="all")
    group_id = fields.Integer(load_default=None, allow_none=True)


class RowsQuerySchema(Schema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ExportSchema(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))
