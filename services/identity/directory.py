"""Branches (with layout), groups with module rights, staff users, contact details for other services."""
import base64
import binascii

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from chassis.errors import Conflict, Invalid, NotFound
from chassis.principal import MODULES, Principal
from identity import activation, scope
from identity.exceptions import NotAllowed, UsernameTaken
from identity.models import Branch, Firm, Group, User
from identity.principals import user_view

LAYOUT = ("display_name", "primary_color", "secondary_color", "letterhead", "street", "house_number",
          "postcode", "city", "phone", "email")
MAX_LOGO_BYTES = 512 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- branches -----------------------------------------------------------------
def layout(branch: Branch) -> dict:
    data = {"id": branch.id, "firm_id": branch.firm_id, "name": branch.name}
    for key in LAYOUT:
        data[key] = getattr(branch, key)
    data["logo_png"] = base64.b64encode(branch.logo_png).decode() if branch.logo_png else None
    return data


def branch_layout(session, branch_id: int) -> dict:
    branch = session.get(Branch, branch_id) if scope.valid_id(branch_id) else None
    if branch is None:
        raise NotFound("Deze vestiging bestaat niet.", {"branch_id": branch_id})
    return layout(branch)


def list_branches(session, p: Principal) -> list[dict]:
    if p.is_platform or p.firm_id is None:
        raise NotAllowed("U heeft geen rechten voor deze handeling.")
    query = sa.select(Branch).where(Branch.firm_id == p.firm_id).order_by(Branch.id)
    if p.is_staff and p.branch_id is not None:
        query = query.where(Branch.id == p.branch_id)
    elif p.is_client:
        from identity.models import Client
        query = query.where(Branch.id.in_(sa.select(Client.branch_id).where(scope.client_filter(p))))
    return [layout(b) for b in session.scalars(query)]


def _apply_layout(branch: Branch, data: dict):
    for key in LAYOUT:
        if key in data:
            setattr(branch, key, data[key])
    if "name" in data and data["name"]:
        branch.name = data["name"]
    if "logo_png" in data:
        if data["logo_png"] in (None, ""):
            branch.logo_png = None
        else:
            try:
                raw = base64.b64decode(data["logo_png"], validate=True)
            except (binascii.Error, ValueError):
                raise Invalid("Het logo is geen geldige base64.", {"fields": {"logo_png": ["Ongeldig."]}})
            if not raw.startswith(PNG_MAGIC):
                raise Invalid("Het logo moet een PNG-bestand zijn.", {"fields": {"logo_png": ["Geen PNG."]}})
            if len(raw) > MAX_LOGO_BYTES:
                raise Invalid("Het logo is te groot (hoogstens 512 kB).", {"fields": {"logo_png": ["Te groot."]}})
            branch.logo_png = raw


def create_branch(session, p: Principal, data: dict) -> dict:
    p.require_staff("admin")
    if not p.firm_wide:
        raise NotAllowed("Alleen kantoorbrede beheerders maken vestigingen aan.")
    if session.scalar(sa.select(Branch.id).where(Branch.firm_id == p.firm_id, Branch.name == data["name"])):
        raise Conflict("Er is al een vestiging met deze naam.", {"field": "name"})
    branch = Branch(firm_id=p.firm_id, name=data["name"], display_name=data.get("display_name") or data["name"])
    _apply_layout(branch, data)
    session.add(branch)
    session.flush()
    return layout(branch)


def update_branch(session, p: Principal, branch_id: int, data: dict) -> dict:
    branch = scope.branch(session, p, branch_id)
    p.require_staff("admin")
    if "name" in data and data["name"] != branch.name and session.scalar(
            sa.select(Branch.id).where(Branch.firm_id == p.firm_id, Branch.name == data["name"])):
        raise Conflict("Er is al een vestiging met deze naam.", {"field": "name"})
    _apply_layout(branch, data)
    session.flush()
    return layout(branch)


# -- groups -------------------------------------------------------------------
def group_view(group: Group) -> dict:
    return {"id": group.id, "name": group.name, "kind": group.kind, "rights": sorted(group.rights or [])}


def list_groups(session, p: Principal, kind: str | None = None) -> list[dict]:
    p.require_staff()
    query = sa.select(Group).where(Group.firm_id == p.firm_id).order_by(Group.kind, Group.name)
    if kind:
        query = query.where(Group.kind == kind)
    return [group_view(g) for g in session.scalars(query)]


def check_rights(kind: str, rights: list[str]) -> list[str]:
    unknown = sorted(set(rights) - set(MODULES))
    if unknown:
        raise Invalid("Onbekende modules.", {"fields": {"rights": [f"Onbekend: {', '.join(unknown)}"]}})
    if kind == "client" and "admin" in rights:
        raise Invalid("Beheer is alleen voor kantoormedewerkers.", {"fields": {"rights": ["admin"]}})
    return sorted(set(rights))


def create_group(session, p: Principal, data: dict) -> dict:
    p.require_staff("admin")
    rights = check_rights(data["kind"], data["rights"])
    group = Group(firm_id=p.firm_id, name=data["name"], kind=data["kind"], rights=rights)
    session.add(group)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("Er is al een groep met deze naam.", {"field": "name"}) from None
    return group_view(group)


def group_for(session, p: Principal, group_id, kind: str) -> Group | None:
    if group_id is None:
        return None
    group = session.get(Group, int(group_id))
    if group is None or group.firm_id != p.firm_id or group.kind != kind:
        raise NotFound("Deze groep bestaat niet.", {"group_id": group_id})
    return group


# -- staff --------------------------------------------------------------------
def list_staff(session, p: Principal) -> list[dict]:
    p.require_staff()
    query = sa.select(User).where(User.firm_id == p.firm_id, User.kind == "staff").order_by(User.name, User.id)
    if p.branch_id is not None:
        query = query.where(sa.or_(User.branch_id == p.branch_id, User.branch_id.is_(None)))
    return [user_view(u) for u in session.scalars(query)]


def username_free(session, username: str) -> bool:
    return session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())) is None


def add_user(session, user: User) -> None:
    """Insert a new user. ``username_free`` answers for the moment it is asked: a parallel request for the
    same username, or the same in other case, that commits first makes this insert a conflict (409), not a
    server error."""
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        # the unique constraint on username or the unique index on lower(username): both name the column,
        # in PostgreSQL's and in SQLite's message; any other violation is not the user's choice of name
        if "username" not in str(exc.orig):
            raise
        raise UsernameTaken("Deze gebruikersnaam is al in gebruik.", {"field": "username"}) from None


def create_staff(session, p: Principal, data: dict, events) -> dict:
    p.require_staff("admin")
    branch_id = data.get("branch_id")
    if branch_id is not None:
        scope.branch(session, p, branch_id)
    elif not p.firm_wide:
        raise NotAllowed("Alleen kantoorbrede beheerders maken kantoorbrede medewerkers aan.")
    group = group_for(session, p, data.get("group_id"), "staff")
    if not username_free(session, data["username"]):
        raise UsernameTaken("Deze gebruikersnaam is al in gebruik.", {"field": "username"})
    rights = list(group.rights) if group else []
    if "admin" in rights and not p.has_right("admin"):
        raise NotAllowed("U kunt geen beheerrechten toekennen.")
    user = User(firm_id=p.firm_id, kind="staff", username=data["username"], name=data["name"],
                email=data.get("email"), branch_id=branch_id, group_id=group.id if group else None,
                rights=rights, active=True, confirmation_method="pin", login_method="password",
                pin_failures=0, failed_logins=0)
    add_user(session, user)
    code = activation.issue(session, [user])[user.id]
    events.emit("user_created", {"user_id": user.id, "firm_id": user.firm_id, "kind": "staff",
                                 "branch_id": branch_id})
    # shown once, to hand over; only its keyed hash is stored
    return {"id": user.id, "username": user.username, "activation_code": code}


# -- contacts for other services ---------------------------------------------
def contact(user: User) -> dict:
    return {"id": user.id, "kind": user.kind, "username": user.username, "name": user.name, "email": user.email,
            "mobile": user.mobile, "firm_id": user.firm_id, "branch_id": user.branch_id}


def contacts(session, user_ids: list[int]) -> list[dict]:
    ids = sorted({int(i) for i in user_ids})
    if not ids:
        return []
    return [contact(u) for u in session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id))]


def staff_contacts(session, firm_id: int, branch_id: int | None) -> list[dict]:
    query = sa.select(User).where(User.firm_id == firm_id, User.kind == "staff", User.active.is_(True))
    if branch_id is not None:
        query = query.where(sa.or_(User.branch_id == branch_id, User.branch_id.is_(None)))
    return [contact(u) for u in session.scalars(query.order_by(User.id))]


def firm_name(session, firm_id: int) -> str:
    firm = session.get(Firm, firm_id)
    return firm.name if firm else ""
