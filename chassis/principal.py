"""The acting principal that every tenant RPC takes.

The gateway resolves a bearer token through identity and passes the principal
along; each service enforces firm, branch and client scope itself with it.
"""
from dataclasses import dataclass, field

from marshmallow import Schema, fields, validate

from chassis.errors import Forbidden, NotAuthenticated

KINDS = ("staff", "client", "platform")
MODULES = ("approval", "filing", "documents", "news", "users", "admin")


class PrincipalSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    user_id = fields.Integer(load_default=None, allow_none=True)
    username = fields.String(load_default=None, allow_none=True)
    firm_id = fields.Integer(load_default=None, allow_none=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    client_ids = fields.List(fields.Integer(), load_default=list)
    superuser_client_ids = fields.List(fields.Integer(), load_default=list)
    rights = fields.List(fields.String(), load_default=list)
    session_id = fields.Integer(load_default=None, allow_none=True)


# One instance for every call: building a Schema copies its fields (about as costly as a load).
_SCHEMA = PrincipalSchema()


@dataclass(frozen=True)
class Principal:
    kind: str
    user_id: int | None = None
    username: str | None = None
    firm_id: int | None = None
    branch_id: int | None = None  # None for firm-wide staff
    client_ids: tuple = field(default_factory=tuple)
    superuser_client_ids: tuple = field(default_factory=tuple)
    rights: tuple = field(default_factory=tuple)
    session_id: int | None = None

    @classmethod
    def load(cls, data) -> "Principal":
        if isinstance(data, Principal):
            return data
        if not data:
            raise NotAuthenticated("Niet ingelogd.")
        values = _SCHEMA.load(data)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def dump(self) -> dict:
        return _SCHEMA.dump(self)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_client(self) -> bool:
        return self.kind == "client"

    @property
    def is_platform(self) -> bool:
        return self.kind == "platform"

    @property
    def firm_wide(self) -> bool:
        return self.is_staff and self.branch_id is None

    def has_right(self, module: str) -> bool:
        return module in self.rights

    @property
    def manages_client_users(self) -> bool:
        """Staff who manage client users (accounts, activation codes, PINs, and the letters that carry them):
        the ``users`` module, or admins. A colleague who only posts news never issues or reads a secret."""
        return self.is_staff and (self.has_right("users") or self.has_right("admin"))

    def require_staff(self, module: str | None = None):
        if not self.is_staff or (module and not self.has_right(module)):
            raise Forbidden("U heeft geen rechten voor deze handeling.")

    def require_right(self, module: str):
        if not self.has_right(module):
            raise Forbidden("U heeft geen rechten voor deze handeling.")

    def sees_branch(self, branch_id) -> bool:
        """Staff of a branch see only that branch; firm-wide staff see all branches."""
        return self.is_staff and (self.branch_id is None or self.branch_id == branch_id)

    def sees_client(self, firm_id, branch_id, client_id) -> bool:
        if firm_id != self.firm_id:
            return False
        if self.is_staff:
            return self.sees_branch(branch_id)
        return self.is_client and client_id in self.client_ids
