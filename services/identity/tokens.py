"""Tokens/rights: per client user, how approvals are confirmed (pin | sms) and how it logs in
(password | password_sms). Choosing pin issues a fresh PIN per user, printed by letters."""
import sqlalchemy as sa

from chassis.errors import Invalid, NotFound
from chassis.principal import Principal
from identity import pins, printing, scope, sessions
from identity.exceptions import MobileRequired, NotAllowed
from identity.models import Client, ClientUserLink, User


def _targets(session, p: Principal, data: dict) -> list[tuple[User, Client]]:
    """(user, client the letter is addressed at) for every chosen user, in scope."""
    pairs: dict[int, tuple[User, Client]] = {}
    for client_id in data.get("client_ids") or []:
        client = scope.client(session, p, client_id)
        # a deactivated user (someone who left the client) gets no fresh PIN in the post
        for user in session.scalars(sa.select(User).join(ClientUserLink, ClientUserLink.user_id == User.id)
                                    .where(ClientUserLink.client_id == client.id, User.active.is_(True))
                                    .order_by(User.id)
                                    .with_for_update(of=User)):
            pairs.setdefault(user.id, (user, client))
    for user_id in data.get("user_ids") or []:
        user = scope.user(session, p, user_id)
        if user.kind != "client":
            raise NotFound(scope.USER_GONE, {"user_id": user_id})
        if user.id in pairs:
            continue
        if not user.active:
            raise Invalid("Deze gebruiker is uitgeschakeld; schakel de gebruiker eerst weer in.",
                          {"fields": {"user_ids": [f"Uitgeschakeld: {user.id}"]}, "user_id": user.id})
        client = session.scalars(sa.select(Client).join(ClientUserLink, ClientUserLink.client_id == Client.id)
                                 .where(ClientUserLink.user_id == user.id, scope.client_filter(p))
                                 .order_by(Client.id).limit(1)).first()
        pairs[user.id] = (user, client)
    return list(pairs.values())


def issue(session, p: Principal, data: dict, letters, principal: dict, events) -> dict:
    pairs = _targets(session, p, data)  # what the principal may not see is absent (404) first
    p.require_staff()
    if not p.manages_client_users:
        raise NotAllowed(scope.NO_USERS_RIGHT)
    if not pairs:
        raise Invalid("Kies ten minste één cliëntgebruiker.", {"fields": {"user_ids": ["Geen gebruikers gekozen."]}})
    # a PIN and a login method serve every client of the user: the same rule as changing the user
    shared = scope.beyond_charge(session, p, [u.id for u, _ in pairs])
    if shared:
        raise NotAllowed(scope.OTHER_BRANCH if len(shared) == 1 else
                         f"{len(shared)} van deze gebruikers zijn ook gekoppeld aan een cliënt van een andere "
                         "vestiging; alleen een kantoorbrede medewerker kan hen wijzigen.", {"user_ids": shared})
    confirmation, login = data["confirmation"], data["login"]
    if confirmation == "sms" or login == "password_sms":
        missing = [u.id for u, _ in pairs if not u.mobile]
        if missing:
            raise MobileRequired("Voor sms is een mobiel nummer nodig; dat ontbreekt bij "
                                 f"{len(missing)} gebruiker(s).", {"field": "mobile", "user_ids": missing})
    stricter = []
    for user, _ in pairs:
        if login == "password_sms" and user.login_method != "password_sms":
            stricter.append(user.id)
        user.confirmation_method = confirmation
        user.login_method = login
        if confirmation == "sms":
            # the old PIN must not outlive the switch: a user who confirms by SMS holds no PIN at all
            # (choosing pin again issues a fresh one below)
            pins.clear_pin(user)
    if stricter:
        # sessions opened with the password alone end, so the second factor applies at once (as deactivating)
        sessions.end_sessions_of(session, stricter)
    by_branch: dict[int, list] = {}
    if confirmation == "pin":
        clear = pins.set_pins([u for u, _ in pairs])
        for user, client in pairs:
            branch_id = client.branch_id if client else None
            by_branch.setdefault(branch_id, []).append(printing.entry(user, client, clear[user.id]))
        del clear
    session.flush()
    events.emit("tokens_issued", {"firm_id": p.firm_id, "user_ids": [u.id for u, _ in pairs],
                                  "confirmation": confirmation, "login": login,
                                  "pin_issued": confirmation == "pin", "by_user_id": p.user_id})
    batch_ids = printing.print_batches(letters, events, principal, "pin", by_branch) if by_branch else []
    return {"letter_batch_id": batch_ids[0] if batch_ids else None, "letter_batch_ids": batch_ids,
            "users": [{"id": u.id, "username": u.username, "name": u.name, "confirmation": u.confirmation_method,
                       "login": u.login_method, "pin_issued": confirmation == "pin"} for u, _ in pairs]}
