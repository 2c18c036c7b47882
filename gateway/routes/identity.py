"""Routes served by the identity service: firms, sessions, the directory."""
import os

import eventlet
from marshmallow import Schema, fields, validate

from chassis.errors import Unavailable

from gateway.api import bearer_token, route
from gateway.errors import register_remote_errors

register_remote_errors({
    "identity.exceptions.InvalidCredentials": (401, "invalid_credentials"),
    "identity.exceptions.SessionExpired": (401, "session_expired"),
    "identity.exceptions.LoginThrottled": (429, "login_throttled"),
    "identity.exceptions.WeakPassword": (422, "weak_password"),
    "identity.exceptions.WrongPassword": (422, "wrong_password"),
    "identity.exceptions.UsernameTaken": (409, "username_taken"),
    "identity.exceptions.FirmNotFound": (404, "firm_not_found"),
    "identity.exceptions.NotAllowed": (403, "forbidden"),
    "identity.exceptions.ClientNumberTaken": (409, "client_number_taken"),
    "identity.exceptions.WrongPin": (422, "wrong_pin"),
    "identity.exceptions.PinLocked": (429, "pin_locked"),
    "identity.exceptions.SmsLimitReached": (429, "sms_limit"),
    "identity.exceptions.NoPin": (422, "no_pin"),
    "identity.exceptions.WrongConfirmationMethod": (422, "wrong_confirmation_method"),
    "identity.exceptions.WrongCode": (422, "wrong_code"),
    "identity.exceptions.CodeExpired": (422, "code_expired"),
    "identity.exceptions.MobileRequired": (422, "mobile_required"),
    "identity.exceptions.InvalidActivation": (422, "invalid_activation"),
    "identity.exceptions.SmsFailed": (422, "sms_failed"),
    "identity.exceptions.LettersFailed": (503, "letters_unavailable"),
    "identity.exceptions.MailFailed": (503, "mail_unavailable"),
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
    active = fields.Boolean()
    confirmation = fields.String()
    login = fields.String()


class LoginOut(Schema):
    token = fields.String()
    user = fields.Nested(UserOut)
    challenge_id = fields.String()
    second_factor = fields.String()


class MeOut(Schema):
    user = fields.Nested(UserOut)
    firm = fields.Dict()
    branch = fields.Dict(allow_none=True)
    firm_wide = fields.Boolean()
    clients = fields.List(fields.Dict())
    rights = fields.List(fields.String())


class SmsLoginIn(Schema):
    challenge_id = fields.String(required=True)
    code = fields.String(required=True, load_only=True)


class ActivateIn(Schema):
    username = fields.String(required=True)
    activation_code = fields.String(required=True, load_only=True)
    password = fields.String(required=True, load_only=True)


class ActivatedOut(Schema):
    id = fields.Integer()
    username = fields.String()
    activated = fields.Boolean()


class BranchIn(Schema):
    name = fields.String()
    display_name = fields.String(allow_none=True)
    logo_png = fields.String(allow_none=True, metadata={"description": "PNG, base64"})
    primary_color = fields.String(allow_none=True)
    secondary_color = fields.String(allow_none=True)
    letterhead = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    house_number = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class BranchOut(BranchIn):
    id = fields.Integer()
    firm_id = fields.Integer()


class BranchList(Schema):
    items = fields.List(fields.Nested(BranchOut))


class GroupIn(Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["client", "staff"]})
    rights = fields.List(fields.String(), load_default=list)


class GroupOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    rights = fields.List(fields.String())


class GroupList(Schema):
    items = fields.List(fields.Nested(GroupOut))


class StaffIn(Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(load_default=None, allow_none=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    group_id = fields.Integer(load_default=None, allow_none=True)


class StaffCreatedOut(Schema):
    id = fields.Integer()
    username = fields.String()
    activation_code = fields.String(metadata={"description": "shown once, to hand over"})


class UserList(Schema):
    items = fields.List(fields.Dict())


CLIENT_FIELDS = ("number", "name", "legal_form", "kvk", "bsn", "rsin", "vat", "street", "house_number",
                 "postcode", "city", "country", "email", "phone", "mobile", "contact")


class ClientIn(Schema):
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    legal_form = fields.String(allow_none=True)
    kvk = fields.String(allow_none=True)
    bsn = fields.String(allow_none=True)
    rsin = fields.String(allow_none=True)
    vat = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    house_number = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    branch = fields.String(allow_none=True, metadata={"description": "De vestiging bij naam (SPEC §3, kolom "
                                                                     "Vestiging); of branch_id"})
    branch_id = fields.Integer(allow_none=True)
    group_id = fields.Integer(allow_none=True)


class ClientOut(ClientIn):
    id = fields.Integer()
    firm_id = fields.Integer()
    created_at = fields.String()
    updated_at = fields.String()


class ClientShowQuery(Schema):
    show = fields.String(load_default=None, validate=validate.OneOf(["bsn"]),
                         metadata={"description": "'bsn': het volledige BSN (alleen medewerkers; vastgelegd)"})


class ClientQuery(Schema):
    q = fields.String(load_default=None)
    branch_id = fields.Integer(load_default=None)
    page = fields.Integer(load_default=1)
    per_page = fields.Integer(load_default=50)


class ClientPage(Schema):
    items = fields.List(fields.Nested(ClientOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ClientUserIn(Schema):
    name = fields.String()
    email = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    superuser = fields.Boolean(load_default=False)
    username = fields.String(allow_none=True)
    group_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True, metadata={"description": "link an existing client user instead"})
    delivery = fields.String(metadata={"description": "Hoe de activeringscode de gebruiker bereikt: 'letter' "
                                                      "(standaard) of 'email'"})


class ClientUserCreatedOut(Schema):
    id = fields.Integer()
    username = fields.String()
    letter_batch_id = fields.Integer(allow_none=True)
    delivery = fields.String()
    linked = fields.Boolean()


class ActivationReissueIn(Schema):
    delivery = fields.String(metadata={"description": "'letter' (een medewerker krijgt de code eenmalig getoond); "
                                                      "per e-mail alleen bij een nieuw account"})


class ActivationReissuedOut(Schema):
    delivery = fields.String()
    user_id = fields.Integer()
    username = fields.String()
    letter_batch_id = fields.Integer(allow_none=True, metadata={"description": "De activeringsbrief (cliëntgebruiker)"})
    activation_code = fields.String(metadata={"description": "Alleen voor een medewerker: eenmalig getoond"})


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True)


class UserPatchIn(Schema):
    name = fields.String()
    email = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    active = fields.Boolean()
    rights = fields.List(fields.String())


class BulkIn(Schema):
    client_ids = fields.List(fields.Integer(), required=True)
    group_id = fields.Integer(load_default=None, allow_none=True)
    delivery = fields.String(metadata={"description": "'letter' (standaard), of 'email': per e-mail aan het adres van "
                                                      "de cliënt, per brief aan cliënten zonder adres; elke "
                                                      "aangemaakte gebruiker meldt welke ('delivery')"})


class BulkOut(Schema):
    created = fields.List(fields.Dict())
    skipped = fields.List(fields.Dict())
    letter_batch_id = fields.Integer(allow_none=True)
    letter_batch_ids = fields.List(fields.Integer())


class TokensIn(Schema):
    user_ids = fields.List(fields.Integer(), load_default=list)
    client_ids = fields.List(fields.Integer(), load_default=list)
    confirmation = fields.String(required=True, metadata={"enum": ["pin", "sms"]})
    login = fields.String(required=True, metadata={"enum": ["password", "password_sms"]})


class TokensOut(Schema):
    letter_batch_id = fields.Integer(allow_none=True)
    letter_batch_ids = fields.List(fields.Integer())
    users = fields.List(fields.Dict())


class MobileIn(Schema):
    mobile = fields.String(required=True)
    pin = fields.String(required=True, load_only=True)


class MobileConfirmIn(Schema):
    code = fields.String(required=True, load_only=True)


# Bulk work (thousands of argon2-hashed PINs) outlives the normal RPC deadline; the request still expires in
# the queue after that deadline if identity does not take it, but once taken we wait this long for the answer.
BULK_TIMEOUT = float(os.environ.get("AKKOORD_BULK_RPC_TIMEOUT", "1800"))


def long_call(method, **kwargs):
    try:
        with eventlet.Timeout(BULK_TIMEOUT):
            return method.call_async(**kwargs).result()
    except eventlet.Timeout:
        raise Unavailable("Dit duurt te lang; kijk later of het gelukt is.", {"service": "identity"}) from None


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
        self.principals.forget_token(bearer_token(request))
        return None, 204

    @route("GET", "/api/v1/me", summary="De ingelogde gebruiker, kantoor, vestiging, cliënten en rechten",
           tags=["session"], response=MeOut())
    def me(self, request, ctx):
        return self.identity.me(principal=ctx.principal)

    @route("POST", "/api/v1/session/sms", summary="Inloggen afronden met de sms-code", tags=["session"],
           auth="none", body=SmsLoginIn(), response=LoginOut())
    def login_sms(self, request, ctx):
        return self.identity.login_sms(payload=ctx.body, ip=ctx.ip)

    @route("POST", "/api/v1/activate", summary="Account activeren en eigen wachtwoord kiezen", tags=["session"],
           auth="none", body=ActivateIn(), response=ActivatedOut())
    def activate(self, request, ctx):
        return self.identity.activate(payload=ctx.body)

    # -- branches, groups, staff ----------------------------------------------
    @route("GET", "/api/v1/branches", summary="Vestigingen en hun huisstijl", tags=["directory"],
           response=BranchList())
    def list_branches(self, request, ctx):
        return {"items": self.identity.list_branches(principal=ctx.principal)}

    @route("POST", "/api/v1/branches", summary="Vestiging toevoegen", tags=["directory"], body=BranchIn(),
           response=BranchOut(), status=201)
    def create_branch(self, request, ctx):
        return self.identity.create_branch(principal=ctx.principal, payload=ctx.body)

    @route("PATCH", "/api/v1/branches/<int:branch_id>", summary="Vestiging en huisstijl wijzigen",
           tags=["directory"], body=BranchIn(), response=BranchOut())
    def update_branch(self, request, ctx, branch_id):
        return self.identity.update_branch(principal=ctx.principal, branch_id=branch_id, payload=ctx.body)

    @route("GET", "/api/v1/groups", summary="Cliënt- en kantoorgroepen met modulerechten", tags=["directory"],
           response=GroupList())
    def list_groups(self, request, ctx):
        return {"items": self.identity.list_groups(principal=ctx.principal, kind=request.args.get("kind"))}

    @route("POST", "/api/v1/groups", summary="Groep toevoegen", tags=["directory"], body=GroupIn(),
           response=GroupOut(), status=201)
    def create_group(self, request, ctx):
        return self.identity.create_group(principal=ctx.principal, payload=ctx.body)

    @route("GET", "/api/v1/staff", summary="Kantoormedewerkers", tags=["directory"], response=UserList())
    def list_staff(self, request, ctx):
        return {"items": self.identity.list_staff(principal=ctx.principal)}

    @route("POST", "/api/v1/staff", summary="Kantoormedewerker toevoegen (activeringscode eenmalig getoond)",
           tags=["directory"], body=StaffIn(), response=StaffCreatedOut(), status=201)
    def create_staff(self, request, ctx):
        return self.identity.create_staff(principal=ctx.principal, payload=ctx.body)

    # -- clients ----------------------------------------------------------------
    @route("GET", "/api/v1/clients", summary="Cliënten zoeken (naam, cliëntnummer, KvK) per pagina",
           tags=["clients"], query=ClientQuery(), response=ClientPage())
    def search_clients(self, request, ctx):
        return self.identity.search_clients(principal=ctx.principal, query=ctx.query)

    @route("POST", "/api/v1/clients", summary="Cliënt toevoegen", tags=["clients"], body=ClientIn(),
           response=ClientOut(), status=201)
    def create_client(self, request, ctx):
        return self.identity.create_client(principal=ctx.principal, payload=ctx.body)

    @route("GET", "/api/v1/clients/<int:client_id>", summary="Eén cliënt (BSN gemaskeerd; ?show=bsn toont het "
           "volledige BSN aan een medewerker, en legt dat vast)", tags=["clients"], query=ClientShowQuery(),
           response=ClientOut())
    def get_client(self, request, ctx, client_id):
        if ctx.query.get("show") == "bsn":
            return self.identity.get_client(principal=ctx.principal, client_id=client_id, reveal_bsn=True)
        # asked without the argument: an identity replica older than ?show=bsn still answers (rolling upgrade)
        return self.identity.get_client(principal=ctx.principal, client_id=client_id)

    @route("PATCH", "/api/v1/clients/<int:client_id>", summary="Cliënt wijzigen", tags=["clients"],
           body=ClientIn(), response=ClientOut())
    def update_client(self, request, ctx, client_id):
        return self.identity.update_client(principal=ctx.principal, client_id=client_id, payload=ctx.body)

    @route("GET", "/api/v1/clients/<int:client_id>/users", summary="Gebruikers van een cliënt", tags=["users"],
           response=UserList())
    def client_users(self, request, ctx, client_id):
        return {"items": self.identity.client_users(principal=ctx.principal, client_id=client_id)}

    @route("POST", "/api/v1/clients/<int:client_id>/users",
           summary="Cliëntgebruiker toevoegen (activeringsbrief) of bestaande gebruiker koppelen", tags=["users"],
           body=ClientUserIn(), response=ClientUserCreatedOut(), status=201)
    def create_client_user(self, request, ctx, client_id):
        return self.identity.create_client_user(principal=ctx.principal, client_id=client_id, payload=ctx.body)

    # -- users ------------------------------------------------------------------
    @route("PATCH", "/api/v1/users/<int:user_id>", summary="Gebruiker wijzigen; uitschakelen beëindigt sessies",
           tags=["users"], body=UserPatchIn(), response=UserOut())
    def update_user(self, request, ctx, user_id):
        return self.identity.update_user(principal=ctx.principal, user_id=user_id, payload=ctx.body)

    @route("POST", "/api/v1/users/<int:user_id>/activation",
           summary="Nieuwe activeringscode (wachtwoord vergeten): brief voor een cliëntgebruiker, eenmalig getoond "
                   "voor een medewerker", tags=["users"], body=ActivationReissueIn(),
           response=ActivationReissuedOut(), status=201, errors=[503])
    def reissue_activation(self, request, ctx, user_id):
        return self.identity.reissue_activation(principal=ctx.principal, user_id=user_id, payload=ctx.body)

    @route("POST", "/api/v1/users/bulk", summary="Eerste gebruiker (superuser) per gekozen cliënt aanmaken",
           tags=["users"], body=BulkIn(), response=BulkOut())
    def bulk_users(self, request, ctx):
        return long_call(self.identity.bulk_create_users, principal=ctx.principal, payload=ctx.body)

    @route("POST", "/api/v1/tokens", summary="Bevestig- en inlogmethode kiezen; PIN-brieven bij 'pin'",
           tags=["users"], body=TokensIn(), response=TokensOut())
    def issue_tokens(self, request, ctx):
        return long_call(self.identity.issue_tokens, principal=ctx.principal, payload=ctx.body)

    @route("PUT", "/api/v1/me/password", summary="Eigen wachtwoord wijzigen; uw andere sessies worden beëindigd",
           tags=["session"], body=PasswordChangeIn(), status=204, errors=[429])
    def change_password(self, request, ctx):
        self.identity.change_password(principal=ctx.principal, payload=ctx.body)
        return None, 204

    @route("PUT", "/api/v1/me/mobile", summary="Eigen mobiel nummer wijzigen met PIN; code naar het nieuwe nummer",
           tags=["session"], body=MobileIn(), status=202)
    def change_mobile(self, request, ctx):
        return self.identity.change_mobile(principal=ctx.principal, payload=ctx.body), 202

    @route("POST", "/api/v1/me/mobile/confirm", summary="Nieuw mobiel nummer bevestigen met de sms-code",
           tags=["session"], body=MobileConfirmIn())
    def confirm_mobile(self, request, ctx):
        return self.identity.confirm_mobile(principal=ctx.principal, payload=ctx.body)
