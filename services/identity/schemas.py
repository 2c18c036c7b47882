"""marshmallow schemas for identity's RPC input."""
from marshmallow import Schema, fields, validate

USERNAME = validate.Regexp(r"^[A-Za-z0-9._@+-]{3,150}$",
                           error="Gebruik 3 tot 150 letters, cijfers of . _ @ + -.")


class AdminSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=validate.Length(max=1024), load_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)


class CreateFirmSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    multi_branch = fields.Boolean(load_default=False)
    branches = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                           load_default=list, validate=validate.Length(max=500))
    admin = fields.Nested(AdminSchema, required=True)


class FirmCreatedSchema(Schema):
    firm_id = fields.Integer()
    branch_ids = fields.List(fields.Integer())
    admin_user_id = fields.Integer()


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    password = fields.String(required=True, validate=validate.Length(max=1024), load_only=True)


class UserSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    username = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    branch_id = fields.Integer(allow_none=True)
    group_id = fields.Integer(allow_none=True)
    rights = fields.List(fields.String())
    active = fields.Boolean()
    confirmation = fields.String()
    login = fields.String()


class LoginResultSchema(Schema):
    token = fields.String()
    user = fields.Nested(UserSchema)
    challenge_id = fields.String()
    second_factor = fields.String()


class MeSchema(Schema):
    user = fields.Nested(UserSchema)
    firm = fields.Dict()
    branch = fields.Dict(allow_none=True)
    clients = fields.List(fields.Dict())
    rights = fields.List(fields.String())
