"""Routes served by the identity service: firms, sessions, the directory."""
from marshmallow import Schema, fields

from gateway.api import route
from gateway.errors import register_remote_errors

register_remote_errors({
    "identity.exceptions.InvalidCredentials": (401, "invalid_credentials"),
    "identity.exceptions.SessionExpired": (401, "session_expired"),
    "identity.exceptions.LoginThrottled": (429, "login_throttled"),
    "identity.exceptions.WeakPassword": (422, "weak_password"),
    "identity.exceptions.UsernameTaken": (409, "username_taken"),
    "identity.exceptions.FirmNotFound": (404, "firm_not_found"),
    "identity.exceptions.NotAllowed": (403, "forbidden"),
})


class AdminIn(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    name = fields.String(required=True)
    email = fields.Email(load_default=None, allow_none=True)


class CreateFirmIn(Schema):
    name = fields.String(required=True)
    multi_branch = fields.Boolean(load_default=False)
    branches = fields.List(fields.String(), load_default=list)
    admin = fields.Nested(AdminIn, required=True)


class FirmCreatedOut(Schema):
    firm_id = fields.Integer()
    branch_ids = fields.List(fields.Integer())
    admin_user_id = fields.Integer()


class LoginIn(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class UserOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    username = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    branch_id = fields.Integer(allow_none=True)
    rights = fields.List(fields.String())


class LoginOut(Schema):
    token = fields.String()
    user = fields.Nested(UserOut)
    challenge_id = fields.String()
    second_factor = fields.String()


class MeOut(Schema):
    user = fields.Nested(UserOut)
    firm = fields.Dict()
    branch = fields.Dict(allow_none=True)
    clients = fields.List(fields.Dict())
    rights = fields.List(fields.String())


class IdentityRoutes:
    @route("POST", "/api/v1/platform/firms", summary="Kantoor aanmaken (platformbeheer)", tags=["platform"],
           auth="platform", body=CreateFirmIn(), response=FirmCreatedOut(), status=201)
    def create_firm(self, request, ctx):
        return self.identity.create_firm(principal=ctx.principal, payload=ctx.body)

    @route("POST", "/api/v1/session", summary="Inloggen met gebruikersnaam en wachtwoord", tags=["session"],
           auth="none", body=LoginIn(), response=LoginOut())
    def login(self, request, ctx):
        return self.identity.login(payload=ctx.body, ip=ctx.ip)

    @route("DELETE", "/api/v1/session", summary="Uitloggen", tags=["session"], status=204)
    def logout(self, request, ctx):
        self.identity.logout(principal=ctx.principal)
        return None, 204

    @route("GET", "/api/v1/me", summary="De ingelogde gebruiker, kantoor, vestiging, cliënten en rechten",
           tags=["session"], response=MeOut())
    def me(self, request, ctx):
        return self.identity.me(principal=ctx.principal)
