"""Firms (tenants) and their branches, created by the platform team."""
import sqlalchemy as sa

from identity import directory
from identity.exceptions import UsernameTaken
from identity.models import Branch, Firm, Group, User
from identity.passwords import hash_new_password

ALL_STAFF_RIGHTS = ["approval", "filing", "documents", "news", "users", "admin"]
DEFAULT_CLIENT_RIGHTS = ["approval", "documents", "news"]


def create_firm(session, data: dict) -> dict:
    admin = data["admin"]
    if session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == admin["username"].lower())):
        raise UsernameTaken("Deze gebruikersnaam is al in gebruik.", {"field": "admin.username"})
    password_hash = hash_new_password(admin["password"], admin["username"], data["name"])
    firm = Firm(name=data["name"], multi_branch=data["multi_branch"])
    session.add(firm)
    session.flush()
    names = data.get("branches") or ["Hoofdkantoor"]
    branches = [Branch(firm_id=firm.id, name=name, display_name=name) for name in names]
    session.add_all(branches)
    admins = Group(firm_id=firm.id, name="Beheerders", kind="staff", rights=ALL_STAFF_RIGHTS)
    clients = Group(firm_id=firm.id, name="Cliënten", kind="client", rights=DEFAULT_CLIENT_RIGHTS)
    session.add_all([admins, clients])
    session.flush()
    user = User(firm_id=firm.id, kind="staff", username=admin["username"], name=admin["name"],
                email=admin.get("email"), branch_id=None, group_id=admins.id, rights=list(admins.rights),
                password_hash=password_hash)
    directory.add_user(session, user)  # a parallel firm with the same admin username: 409, not a 500
    return {"firm_id": firm.id, "branch_ids": [b.id for b in branches], "admin_user_id": user.id}
