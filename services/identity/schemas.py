"""marshmallow schemas for identity's RPC input."""
import orjson
from marshmallow import Schema as _Schema, ValidationError as _ValidationError, fields, pre_load, validate


def _walk_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_walk_has_nul(k) or _walk_has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_walk_has_nul(v) for v in value)
    return False


def _has_nul(value) -> bool:
    """Whether any text in ``value`` (keys too, at any depth) holds a NUL character.

    One orjson pass in C first: an import batch is 1,000 rows of 17 cells, and walking them in
    Python was 7% of identity's CPU during an import. orjson writes NUL as \\u0000, and so does a
    text holding a literal backslash-u0000, so a hit is confirmed by the walk."""
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a type orjson does not write (bytes, say): walk it
        return _walk_has_nul(value)
    return b"\\u0000" in encoded and _walk_has_nul(value)


class Schema(_Schema):
    """Every identity input: text with NUL characters is refused (PostgreSQL cannot store it)."""

    @pre_load
    def _refuse_nul(self, data, **_kw):
        if _has_nul(data):
            raise _ValidationError("Ongeldige tekens (NUL).", "_schema")
        return data

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


# -- directory ------------------------------------------------------------------
from marshmallow import EXCLUDE, validates_schema, ValidationError  # noqa: E402

ID_RANGE = validate.Range(min=1, max=2**31 - 1, error="Onbekend nummer.")
MODULE_NAMES = ["approval", "filing", "documents", "news", "users", "admin"]
COLOR = validate.Regexp(r"^#[0-9A-Fa-f]{6}$", error="Gebruik een kleur als #1A2B3C.")


def _s(n, **kw):
    return fields.String(validate=validate.Length(max=n), allow_none=True, **kw)


class BranchInSchema(Schema):
    class Meta:
        unknown = EXCLUDE
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    display_name = _s(200)
    logo_png = fields.String(allow_none=True, validate=validate.Length(max=800_000))
    primary_color = fields.String(allow_none=True, validate=COLOR)
    secondary_color = fields.String(allow_none=True, validate=COLOR)
    letterhead = _s(4000)
    street = _s(200)
    house_number = _s(20)
    postcode = _s(10)
    city = _s(100)
    phone = _s(30)
    email = fields.Email(allow_none=True)


class BranchPatchSchema(BranchInSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))


class GroupInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(["client", "staff"]))
    rights = fields.List(fields.String(validate=validate.OneOf(MODULE_NAMES)), load_default=list)


class StaffInSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    branch_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)
    group_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)


class ClientInSchema(Schema):
    """Shape only (strings, lengths); the rules per field are in identity.clients.normalise."""
    class Meta:
        unknown = EXCLUDE
    number = _s(50)
    name = _s(200)
    legal_form = _s(100)
    kvk = _s(20)
    bsn = _s(20)
    rsin = _s(20)
    vat = _s(30)
    street = _s(200)
    house_number = _s(20)
    postcode = _s(20)
    city = _s(100)
    country = _s(100)
    email = _s(254)
    phone = _s(30)
    mobile = _s(30)
    contact = _s(200)
    branch = _s(200)
    branch_id = fields.Integer(validate=ID_RANGE, allow_none=True)
    group_id = fields.Integer(validate=ID_RANGE, allow_none=True)


class ImportRowSchema(ClientInSchema):
    """One import row: spreadsheet cells may arrive as numbers."""
    @classmethod
    def clean(cls, row: dict) -> dict:
        out = {}
        for key, value in (row or {}).items():
            if key in ("branch_id", "group_id"):
                out[key] = value
            elif value is None or isinstance(value, str):
                out[key] = value
            elif isinstance(value, float) and value.is_integer():
                out[key] = str(int(value))
            else:
                out[key] = str(value)
        return out


class UpsertSchema(_Schema):
    # Rows are checked one by one (ImportRowSchema), a row that is not an object included: one bad row
    # stops nothing, and the batch's 1,000 rows are not copied once more just to see they are objects.
    rows = fields.List(fields.Raw(allow_none=True), required=True, validate=validate.Length(max=200_000))
    group_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)
    import_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)


class SearchSchema(Schema):
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    branch_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


# How an activation code reaches its user (SPEC §3: by letter, or e-mail).
DELIVERIES = ("letter", "email")


class ActivationReissueSchema(Schema):
    delivery = fields.String(load_default="letter", validate=validate.OneOf(DELIVERIES))


class ClientUserInSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    mobile = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    superuser = fields.Boolean(load_default=False)
    username = fields.String(load_default=None, allow_none=True, validate=USERNAME)
    group_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)
    user_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)
    delivery = fields.String(load_default="letter", validate=validate.OneOf(DELIVERIES))

    @validates_schema
    def _name_or_link(self, data, **_kw):
        if data.get("user_id") is None and not data.get("name"):
            raise ValidationError("Verplicht.", "name")


class UserPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(allow_none=True)
    mobile = fields.String(allow_none=True, validate=validate.Length(max=30))
    active = fields.Boolean()
    rights = fields.List(fields.String(validate=validate.OneOf(MODULE_NAMES)))


class BulkSchema(Schema):
    client_ids = fields.List(fields.Integer(validate=ID_RANGE), required=True, validate=validate.Length(min=1, max=100_000))
    group_id = fields.Integer(validate=ID_RANGE, load_default=None, allow_none=True)
    delivery = fields.String(load_default="letter", validate=validate.OneOf(DELIVERIES))


class TokensSchema(Schema):
    user_ids = fields.List(fields.Integer(validate=ID_RANGE), load_default=list, validate=validate.Length(max=100_000))
    client_ids = fields.List(fields.Integer(validate=ID_RANGE), load_default=list, validate=validate.Length(max=100_000))
    confirmation = fields.String(required=True, validate=validate.OneOf(["pin", "sms"]))
    login = fields.String(required=True, validate=validate.OneOf(["password", "password_sms"]))

    @validates_schema
    def _someone(self, data, **_kw):
        if not data.get("user_ids") and not data.get("client_ids"):
            raise ValidationError("Kies gebruikers of cliënten.", "user_ids")


class ActivateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    activation_code = fields.String(required=True, validate=validate.Length(min=1, max=64), load_only=True)
    password = fields.String(required=True, validate=validate.Length(max=1024), load_only=True)


class SmsLoginSchema(Schema):
    challenge_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    code = fields.String(required=True, validate=validate.Length(min=1, max=12), load_only=True)


class BindingSchema(Schema):
    request_id = fields.Raw(required=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$"))


class CheckConfirmationSchema(Schema):
    user_id = fields.Integer(validate=ID_RANGE, required=True)
    method = fields.String(required=True, validate=validate.OneOf(["pin", "sms"]))
    secret = fields.String(required=True, validate=validate.Length(max=64), load_only=True)
    binding = fields.Nested(BindingSchema, load_default=None, allow_none=True)


class SendCodeSchema(Schema):
    user_id = fields.Integer(validate=ID_RANGE, required=True)
    binding = fields.Nested(BindingSchema, required=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(max=1024), load_only=True)
    new_password = fields.String(required=True, validate=validate.Length(max=1024), load_only=True)


class MobileChangeSchema(Schema):
    mobile = fields.String(required=True, validate=validate.Length(min=1, max=30))
    pin = fields.String(required=True, validate=validate.Length(min=1, max=32), load_only=True)


class MobileConfirmSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=12), load_only=True)


class IdsSchema(Schema):
    ids = fields.List(fields.Integer(validate=ID_RANGE), required=True, validate=validate.Length(max=100_000))


class NumbersSchema(Schema):
    numbers = fields.List(fields.Raw(), required=True, validate=validate.Length(max=200_000))
