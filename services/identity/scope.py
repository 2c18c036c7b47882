"""Who may see what, enforced inside identity with the acting principal.

Staff of a branch see that branch's clients; firm-wide staff see every branch;
a client user sees only the clients it is linked to; nothing crosses firms.
Anything not visible is reported as absent (NotFound), never as forbidden.
"""
import sqlalchemy as sa

from chassis.errors import NotFound
from chassis.principal import Principal
from identity.models import Branch, Client, ClientUserLink, User

CLIENT_GONE = "Deze cliënt bestaat niet."
USER_GONE = "Deze gebruiker bestaat niet."
NO_USERS_RIGHT = "Voor het beheren van cliëntgebruikers (accounts, activeringscodes, PIN-codes) heeft u het recht " \
                 "'Gebruikers' nodig."



def client_filter(p: Principal):
    """A WHERE clause selecting exactly the clients the principal may see."""
    if p.is_staff:
        clause = Client.firm_id == p.firm_id
        if p.branch_id is not None:
            clause = sa.and_(clause, Client.branch_id == p.branch_id)
        return clause
    if p.is_client:
        return sa.and_(Client.firm_id == p.firm_id, Client.id.in_(list(p.client_ids) or [-1]))
    return sa.false()


MAX_ID = 2**31 - 1


def valid_id(value) -> bool:
    """Ids outside the database's integer range exist nowhere: answer 404, not a database error."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def client(session, p: Principal, client_id: int, for_update: bool = False) -> Client:
    if not valid_id(client_id):
        raise NotFound(CLIENT_GONE, {"client_id": client_id})
    query = sa.select(Client).where(Client.id == client_id, client_filter(p))
    if for_update:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(CLIENT_GONE, {"client_id": client_id})
    return found


def branch(session, p: Principal, branch_id: int) -> Branch:
    found = session.get(Branch, branch_id) if valid_id(branch_id) else None
    if found is None or found.firm_id != p.firm_id or not (p.is_staff and p.sees_branch(found.id)):
        raise NotFound("Deze vestiging bestaat niet.", {"branch_id": branch_id})
    return found


def user_visible(session, p: Principal, user: User) -> bool:
    if user is None or user.firm_id != p.firm_id:
        return False
    if p.is_client:
        if user.id == p.user_id:
            return True
        return user.kind == "client" and bool(session.scalar(
            sa.select(ClientUserLink.id).where(ClientUserLink.user_id == user.id,
                                               ClientUserLink.client_id.in_(list(p.client_ids) or [-1]))
            .limit(1)))
    if not p.is_staff:
        return False
    if p.branch_id is None:
        return True
    if user.kind == "staff":
        return user.branch_id in (None, p.branch_id)
    return bool(session.scalar(
        sa.select(ClientUserLink.id).join(Client, Client.id == ClientUserLink.client_id)
        .where(ClientUserLink.user_id == user.id, Client.branch_id == p.branch_id).limit(1)))


def user(session, p: Principal, user_id: int) -> User:
    found = session.get(User, user_id) if valid_id(user_id) else None
    if not user_visible(session, p, found):
        raise NotFound(USER_GONE, {"user_id": user_id})
    return found


# -- changing users ---------------------------------------------------------
NOT_YOURS = "U mag deze gebruiker niet wijzigen."
OTHER_CLIENTS = ("Deze gebruiker is ook aan een andere cliënt gekoppeld; alleen uw kantoor kan deze gebruiker "
                 "wijzigen.")
OTHER_BRANCH = ("Deze gebruiker is ook gekoppeld aan een cliënt van een andere vestiging; alleen een kantoorbrede "
                "medewerker kan deze gebruiker wijzigen.")


def charge_filter(p: Principal):
    """A WHERE clause selecting the clients whose users the principal manages: staff those they see, a client
    user those it is superuser of."""
    if p.is_staff:
        return client_filter(p)
    if p.is_client:
        return sa.and_(Client.firm_id == p.firm_id, Client.id.in_(list(p.superuser_client_ids) or [-1]))
    return sa.false()


def beyond_charge(session, p: Principal, user_ids) -> list[int]:
    """Those of the client users also linked to a client outside the principal's charge, in id order."""
    ids = sorted({int(i) for i in user_ids})
    if p.firm_wide or not ids:
        return []  # every client of the firm is theirs
    found = set()
    for start in range(0, len(ids), 5000):
        found |= set(session.scalars(
            sa.select(ClientUserLink.user_id).join(Client, Client.id == ClientUserLink.client_id)
            .where(ClientUserLink.user_id.in_(ids[start:start + 5000]), sa.not_(charge_filter(p))).distinct()))
    return sorted(found)


def change_refused(session, p: Principal, user: User) -> str | None:
    """None when the principal may change the (visible) user, else the Dutch reason it may not.

    Name, rights, active flag, mobile, PIN and login method belong to the user, not to one of its client
    links: a change reaches every client the user works for. So a client superuser changes only users all of
    whose clients it is superuser of, and staff of a branch only users all of whose clients are in their
    branch; a user shared beyond that is changed by firm-wide staff."""
    if p.is_staff:
        if user.kind != "client":
            return None  # staff users: the admin rules follow in users.update_user
        if not p.manages_client_users:
            return NO_USERS_RIGHT
        return OTHER_BRANCH if beyond_charge(session, p, [user.id]) else None
    if not p.is_client or user.kind != "client" or not session.scalar(
            sa.select(ClientUserLink.id).join(Client, Client.id == ClientUserLink.client_id)
            .where(ClientUserLink.user_id == user.id, charge_filter(p)).limit(1)):
        return NOT_YOURS  # not even one of its clients is this user's superuser client
    return OTHER_CLIENTS if beyond_charge(session, p, [user.id]) else None


def may_manage_client_users(p: Principal, client_id: int) -> bool:
    """Staff (in scope, with the users right) manage every client's users; a client superuser only its own
    client's."""
    if p.is_staff:
        return p.manages_client_users
    return p.is_client and client_id in p.superuser_client_ids
