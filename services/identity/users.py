"""Client users: creation (single, bulk, by a client superuser), links to clients, changes, 'me'."""
import re
import secrets as _random

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from chassis.errors import Conflict, Invalid, NotFound
from chassis.principal import Principal
from identity import activation, directory, mailing, printing, scope, sessions
from identity.clients import fold
from identity.exceptions import NotAllowed, UsernameTaken
from identity.mobiles import normalise_mobile
from identity.models import Branch, Client, ClientUserLink, Firm, Group, User
from identity.principals import user_view

CLIENT_MODULES = ("approval", "filing", "documents", "news", "users")
NOT_HELD = "U kunt alleen rechten toekennen die u zelf heeft; vraag uw kantoor om andere rechten."


# -- helpers ------------------------------------------------------------------
def _mobile(value):
    try:
        return normalise_mobile(value)
    except ValueError as exc:
        raise Invalid("De invoer is ongeldig.", {"fields": {"mobile": [str(exc)]}}) from None


def _default_client_group(session, firm_id: int) -> Group | None:
    return session.scalars(sa.select(Group).where(Group.firm_id == firm_id, Group.kind == "client")
                           .order_by(Group.id).limit(1)).first()


def _client_group(session, p: Principal, group_id, client: Client | None) -> Group | None:
    if group_id is not None:
        return directory.group_for(session, p, group_id, "client")
    if client is not None and client.group_id:
        return session.get(Group, client.group_id)
    return _default_client_group(session, p.firm_id)


def _base_username(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", fold(name))
    return (".".join(words) or "gebruiker")[:24]


def new_usernames(session, names: list[str]) -> list[str]:
    """A free username per name (name plus four random digits), checked against the table in bulk."""
    result = [None] * len(names)
    pending = list(range(len(names)))
    taken = set()
    while pending:
        proposals = {i: f"{_base_username(names[i])}{_random.randbelow(9000) + 1000}" for i in pending}
        candidates = list(proposals.values())
        for start in range(0, len(candidates), 5000):
            taken |= set(session.scalars(sa.select(sa.func.lower(User.username)).where(
                sa.func.lower(User.username).in_([c.lower() for c in candidates[start:start + 5000]]))))
        retry = []
        for i, username in proposals.items():
            if username.lower() in taken:
                retry.append(i)
            else:
                taken.add(username.lower())
                result[i] = username
        pending = retry
    return result


def user_row(user: User, superuser: bool) -> dict:
    return {"id": user.id, "name": user.name, "username": user.username, "email": user.email,
            "confirmation": user.confirmation_method, "login": user.login_method, "mobile": user.mobile,
            "superuser": bool(superuser), "active": user.active, "rights": sorted(user.rights or []),
            "activated": bool(user.password_hash), "pin_locked": user.pin_failures >= 10}


def _created_event(events, user: User, client: Client):
    events.emit("user_created", {"user_id": user.id, "firm_id": user.firm_id, "kind": user.kind,
                                 "client_id": client.id, "branch_id": client.branch_id})


# -- reading ------------------------------------------------------------------
def client_users(session, p: Principal, client_id: int) -> list[dict]:
    client = scope.client(session, p, client_id)
    rows = session.execute(sa.select(User, ClientUserLink.superuser).join(
        ClientUserLink, ClientUserLink.user_id == User.id).where(ClientUserLink.client_id == client.id)
        .order_by(User.name, User.id)).all()
    if p.is_client and not scope.may_manage_client_users(p, client.id):
        # an ordinary client user sees who its colleagues are, not where their codes and mail go
        return [user_row(user, superuser) if user.id == p.user_id
                else {"id": user.id, "name": user.name, "superuser": bool(superuser)}
                for user, superuser in rows]
    return [user_row(user, superuser) for user, superuser in rows]


def own_account(session, p: Principal) -> tuple[User, Firm]:
    """The logged-in user's own record (locked: a password change and a parallel one queue) and its firm."""
    if p.user_id is None:
        raise NotAllowed("Alleen een ingelogde gebruiker wijzigt zijn eigen wachtwoord.")
    user = session.scalars(sa.select(User).where(User.id == p.user_id).with_for_update()).first()
    if user is None or not user.active:
        raise NotFound(scope.USER_GONE, {"user_id": p.user_id})
    return user, session.get(Firm, user.firm_id)


def me(session, p: Principal) -> dict:
    user = session.get(User, p.user_id)
    firm = session.get(Firm, user.firm_id)
    clients = []
    if user.kind == "client":
        rows = session.execute(sa.select(Client, ClientUserLink.superuser).join(
            ClientUserLink, ClientUserLink.client_id == Client.id).where(ClientUserLink.user_id == user.id)
            .order_by(Client.name)).all()
        clients = [{"id": c.id, "number": c.number, "name": c.name, "branch_id": c.branch_id,
                    "superuser": bool(su)} for c, su in rows]
    branch_id = user.branch_id if user.kind == "staff" else (clients[0]["branch_id"] if clients else None)
    branch = session.get(Branch, branch_id) if branch_id else None
    return {"user": user_view(user),
            "firm": {"id": firm.id, "name": firm.name, "multi_branch": firm.multi_branch},
            "branch": {"id": branch.id, "name": branch.name, "display_name": branch.display_name} if branch else None,
            "firm_wide": user.kind == "staff" and (user.branch_id is None or not firm.multi_branch),
            "clients": clients, "rights": sorted(set(user.rights or []))}


# -- creating -----------------------------------------------------------------
def _send_code(user: User, client: Client | None, code: str, delivery: str, letters, notify, principal: dict,
               events) -> dict:
    """The activation code to its user: a letter from the client's branch, or an e-mail."""
    branch_id = client.branch_id if client is not None else user.branch_id
    if delivery == "email":
        mailing.send_activation(notify, events, user, code, branch_id)
        return {"letter_batch_id": None, "delivery": "email"}
    batch_ids = printing.print_batches(letters, events, principal, "activation",
                                       {branch_id: [printing.entry(user, client, code)]})
    return {"letter_batch_id": batch_ids[0] if batch_ids else None, "delivery": "letter"}


def _email_needed(delivery: str, email) -> None:
    if delivery == "email" and not email:
        raise Invalid("De invoer is ongeldig.", {"fields": {"email": [
            "Een e-mailadres is nodig om de activeringscode per e-mail te sturen."]}})


def create_for_client(session, p: Principal, client_id: int, data: dict, letters, principal: dict, events,
                      notify=None) -> dict:
    """A new client user (activation letter), or an existing client user of the firm linked to this client."""
    client = scope.client(session, p, client_id, for_update=True)
    if p.is_staff and not p.manages_client_users:
        raise NotAllowed(scope.NO_USERS_RIGHT)
    if not scope.may_manage_client_users(p, client.id):
        raise NotAllowed("Alleen het kantoor of een superuser van deze cliënt maakt gebruikers aan.")
    superuser = bool(data.get("superuser"))
    if data.get("user_id") is not None:
        user = session.get(User, int(data["user_id"]))
        if user is None or user.kind != "client" or not scope.user_visible(session, p, user):
            raise NotFound(scope.USER_GONE, {"user_id": data["user_id"]})
        link = ClientUserLink(user_id=user.id, client_id=client.id, superuser=superuser)
        session.add(link)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise Conflict("Deze gebruiker is al gekoppeld aan deze cliënt.", {"field": "user_id"}) from None
        events.emit("user_updated", {"user_id": user.id, "firm_id": user.firm_id, "client_id": client.id,
                                     "linked": True})
        return {"id": user.id, "username": user.username, "letter_batch_id": None, "linked": True}
    if not data.get("name"):
        raise Invalid("De invoer is ongeldig.", {"fields": {"name": ["Verplicht."]}})
    delivery = data.get("delivery") or "letter"
    _email_needed(delivery, data.get("email"))
    username = data.get("username")
    if username:
        if not directory.username_free(session, username):
            raise UsernameTaken("Deze gebruikersnaam is al in gebruik.", {"field": "username"})
    else:
        username = new_usernames(session, [data["name"]])[0]
    group = _client_group(session, p, data.get("group_id"), client)
    if p.is_client and data.get("group_id") is not None and set(group.rights or []) - set(p.rights):
        raise NotAllowed(NOT_HELD)  # a superuser's own choice of group: the same rule as changing rights
    rights = list(group.rights) if group else []
    if p.is_client:  # the client's or firm's default group: a superuser still passes on only what it holds
        rights = [right for right in rights if right in p.rights]
    user = User(firm_id=client.firm_id, kind="client", username=username, name=data["name"],
                email=data.get("email"), mobile=_mobile(data.get("mobile")), branch_id=None,
                group_id=group.id if group else None, rights=rights,
                active=True, confirmation_method="pin", login_method="password", pin_failures=0, failed_logins=0)
    directory.add_user(session, user)
    session.add(ClientUserLink(user_id=user.id, client_id=client.id, superuser=superuser))
    code = activation.issue(session, [user])[user.id]
    session.flush()
    _created_event(events, user, client)
    sent = _send_code(user, client, code, delivery, letters, notify, principal, events)
    return {"id": user.id, "username": user.username, "linked": False, **sent}


def bulk_create(session, p: Principal, client_ids: list[int], group_id, letters, principal: dict, events,
                notify=None, delivery: str = "letter") -> dict:
    """The first user (superuser) of each chosen client; clients that already have a user are skipped.
    Activation codes go by letter; with ``delivery="email"`` by e-mail to each client's address, and by letter
    to the clients without one (or whose address notify refuses): each created user says which."""
    p.require_staff()
    if not p.manages_client_users:
        raise NotAllowed(scope.NO_USERS_RIGHT)
    group = directory.group_for(session, p, group_id, "client") if group_id is not None else None
    default_group = _default_client_group(session, p.firm_id)
    wanted = list(dict.fromkeys(int(c) for c in client_ids))
    clients = {}
    for start in range(0, len(wanted), 5000):
        for c in session.scalars(sa.select(Client).where(scope.client_filter(p),
                                                         Client.id.in_(wanted[start:start + 5000]))
                                 .with_for_update()):
            clients[c.id] = c
    with_users = set()
    for start in range(0, len(wanted), 5000):
        with_users |= set(session.scalars(sa.select(ClientUserLink.client_id).where(
            ClientUserLink.client_id.in_(wanted[start:start + 5000]))))
    skipped, todo = [], []
    for cid in wanted:
        if cid not in clients:
            skipped.append({"client_id": cid, "reason": "Cliënt niet gevonden."})
        elif cid in with_users:
            skipped.append({"client_id": cid, "reason": "Deze cliënt heeft al een gebruiker."})
        else:
            todo.append(clients[cid])
    groups = {g.id: g for g in session.scalars(sa.select(Group).where(Group.firm_id == p.firm_id))}
    names = [(c.contact or c.name) for c in todo]
    usernames = new_usernames(session, names)
    users = []
    for client, name, username in zip(todo, names, usernames):
        chosen = group or groups.get(client.group_id) or default_group
        mobile = None
        try:
            mobile = normalise_mobile(client.mobile)
        except ValueError:
            mobile = None
        users.append(User(firm_id=client.firm_id, kind="client", username=username, name=name[:200],
                          email=client.email, mobile=mobile, branch_id=None,
                          group_id=chosen.id if chosen else None, rights=list(chosen.rights) if chosen else [],
                          active=True, confirmation_method="pin", login_method="password",
                          pin_failures=0, failed_logins=0))
    if not users:
        return {"created": [], "skipped": skipped, "letter_batch_id": None, "letter_batch_ids": []}
    session.add_all(users)
    session.flush()
    session.execute(sa.insert(ClientUserLink), [
        {"user_id": u.id, "client_id": c.id, "superuser": True, "created_at": sessions.now()}
        for u, c in zip(users, todo)])
    codes = activation.issue(session, users)
    for user, client in zip(users, todo):
        _created_event(events, user, client)
    session.flush()
    mailed = set()
    if delivery == "email":
        mailed = mailing.send_activations(notify, events, [(user, client.branch_id, codes[user.id])
                                                           for user, client in zip(users, todo) if user.email])
    by_branch: dict[int, list] = {}
    created = []
    for user, client in zip(users, todo):
        if user.id not in mailed:
            by_branch.setdefault(client.branch_id, []).append(printing.entry(user, client, codes[user.id]))
        created.append({"id": user.id, "username": user.username, "name": user.name, "client_id": client.id,
                        "delivery": "email" if user.id in mailed else "letter"})
    batch_ids = printing.print_batches(letters, events, principal, "activation", by_branch)
    return {"created": created, "skipped": skipped,
            "letter_batch_id": batch_ids[0] if batch_ids else None, "letter_batch_ids": batch_ids}


# -- a forgotten password -------------------------------------------------------
def reissue_activation(session, p: Principal, user_id: int, letters, principal: dict, events, notify=None,
                       delivery: str = "letter") -> dict:
    """A new activation code for a user who forgot its password: earlier unused codes die, the password
    keeps working until the code is used (a letter sent by mistake locks nobody out). A client user gets
    it by letter, addressed at one of its clients; staff get it shown once, to hand over (as a new colleague)."""
    user = _user_to_change(session, p, user_id, "Alleen beheerders sturen een kantoormedewerker een nieuwe "
                                                 "activeringscode.")
    if not user.active:
        raise Invalid("Deze gebruiker is uitgeschakeld; schakel de gebruiker eerst weer in.", {"field": "user_id"})
    if delivery == "email":
        # whoever may change the user may also have just changed its address: a new code for an existing
        # account goes by letter to the client's postal address (or, for staff, to an admin's hands)
        raise Invalid("Een nieuwe activeringscode voor een bestaand account gaat per brief; het e-mailadres kan "
                      "intussen gewijzigd zijn.", {"fields": {"delivery": ["Alleen 'letter'."]}})
    code = activation.issue(session, [user])[user.id]
    session.flush()
    events.emit("user_updated", {"user_id": user.id, "firm_id": user.firm_id, "changed": ["activation"]})
    if user.kind == "staff":  # shown once, to hand over (as a new colleague's)
        return {"user_id": user.id, "username": user.username, "activation_code": code, "letter_batch_id": None,
                "delivery": "shown"}
    client = session.scalars(sa.select(Client).join(ClientUserLink, ClientUserLink.client_id == Client.id)
                             .where(ClientUserLink.user_id == user.id, scope.charge_filter(p))
                             .order_by(Client.id).limit(1)).first()
    if client is None:  # no client to address the letter at: nothing is issued (the transaction rolls back)
        raise Invalid("Deze gebruiker is aan geen cliënt gekoppeld; koppel de gebruiker eerst aan een cliënt.",
                      {"field": "user_id"})
    return {"user_id": user.id, "username": user.username,
            **_send_code(user, client, code, delivery, letters, notify, principal, events)}


# -- changing -----------------------------------------------------------------
def _user_to_change(session, p: Principal, user_id: int, staff_refusal: str) -> User:
    """The visible user the principal may change (scope.change_refused); a staff user only by an admin, a
    firm-wide one only by a firm-wide admin."""
    user = scope.user(session, p, user_id)
    refused = scope.change_refused(session, p, user)
    if refused:
        raise NotAllowed(refused)
    if user.kind == "staff" and not p.has_right("admin"):
        raise NotAllowed(staff_refusal)
    if user.kind == "staff" and user.branch_id is None and not p.firm_wide:
        raise NotAllowed("Kantoorbrede medewerkers worden door kantoorbrede beheerders gewijzigd.")
    return user


def update_user(session, p: Principal, user_id: int, data: dict, events) -> dict:
    user = _user_to_change(session, p, user_id, "Alleen beheerders wijzigen kantoormedewerkers.")
    changed = []
    for key in ("name", "email"):
        if key in data and data[key] != getattr(user, key):
            if key == "name" and not data[key]:
                raise Invalid("De invoer is ongeldig.", {"fields": {"name": ["Verplicht."]}})
            setattr(user, key, data[key])
            changed.append(key)
    if "mobile" in data:
        if p.is_client and user.id == p.user_id:
            raise NotAllowed("Uw eigen mobiele nummer wijzigt u met uw PIN-code via 'Mijn gegevens'.")
        mobile = _mobile(data["mobile"])
        if mobile != user.mobile:
            if p.is_client:
                # the number receives the user's login and approval codes: only the firm, or the user itself
                # with its PIN (SPEC §3), may point them elsewhere, never a colleague
                raise NotAllowed("Het mobiele nummer van een collega wijzigt u niet zelf; vraag uw kantoor dit "
                                 "te doen.", {"field": "mobile"})
            if mobile is None and (user.confirmation_method == "sms" or user.login_method == "password_sms"):
                raise Invalid("Deze gebruiker bevestigt of logt in met sms; een mobiel nummer is nodig.",
                              {"fields": {"mobile": ["Verplicht bij sms."]}})
            user.mobile = mobile
            changed.append("mobile")
    if "rights" in data:
        rights = directory.check_rights(user.kind, data["rights"])
        if p.is_client:
            if set(rights) - set(CLIENT_MODULES):
                raise NotAllowed("U kunt deze rechten niet toekennen.")
            # the firm decides a client's modules: a superuser adds only rights it holds itself (to itself
            # neither); rights the user already has pass along unchanged and may be taken away
            if (set(rights) - set(user.rights or [])) - set(p.rights):
                raise NotAllowed(NOT_HELD)
        elif "admin" in rights and not p.has_right("admin"):
            raise NotAllowed("U kunt geen beheerrechten toekennen.")
        if rights != sorted(user.rights or []):
            user.rights = rights
            changed.append("rights")
    if "active" in data and data["active"] is not None and bool(data["active"]) != user.active:
        if user.id == p.user_id:
            raise NotAllowed("U kunt uzelf niet uitschakelen.")
        user.active = bool(data["active"])
        changed.append("active")
        if not user.active:
            sessions.end_all_sessions(session, user.id)  # a deactivated user is logged out everywhere
    if changed:
        session.flush()
        events.emit("user_updated", {"user_id": user.id, "firm_id": user.firm_id, "changed": changed})
    return user_view(user)
