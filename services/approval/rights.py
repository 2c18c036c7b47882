"""Approval rights: may / must / none per client user, client and document type (SPEC §3).

- Users with the ``approval`` module right default to ``may``; others have ``none``, whatever is set.
- If any user of the client ``must`` approve a type, the ``may`` users have no say for
  that type: every ``must`` user has to approve. Otherwise one ``may`` user suffices.
- ``must`` only for users who confirm by SMS.
- The rights that decide a request are fixed when it opens (``snapshot``); changing a
  right later marks the client's open requests of that type as ``rights_changed``.
"""
import sqlalchemy as sa

from approval.exceptions import (ConfirmationRequired, MustNeedsSms, NotAllowed, SelfManagementOff,
                                 UnknownClientUser)
from approval.models import PENDING, ApprovalRight, ClientSetting, Request
from approval.evidence import utcnow

ALL_MUST = "all_must"
ANY_MAY = "any_may"


def default_right(user: dict) -> str:
    if user.get("active") is False:
        return "none"
    rights = user.get("rights")
    if rights is None:  # identity did not say: a client user has the approval module by default
        return "may"
    return "may" if "approval" in rights else "none"


def explicit_rights(session, client_id: int) -> dict:
    """(user_id, document_type) → right, as set for this client."""
    rows = session.scalars(sa.select(ApprovalRight).where(ApprovalRight.client_id == client_id))
    return {(r.user_id, r.document_type): r.right for r in rows}


def right_of(user: dict, document_type: str, explicit: dict) -> str:
    if user.get("active") is False:
        return "none"
    if user.get("rights") is not None and "approval" not in user["rights"]:
        return "none"  # without the module, an explicit may/must gives no say
    return explicit.get((user["id"], document_type)) or default_right(user)


def snapshot(users: list, explicit: dict, document_type: str) -> tuple[str, list, list]:
    """(rule, eligible users with role, full rights snapshot) for a request opening now."""
    rights = [{"user_id": u["id"], "name": u.get("name"), "right": right_of(u, document_type, explicit),
               "confirmation": u.get("confirmation")} for u in users]
    must = [r for r in rights if r["right"] == "must"]
    if must:
        return ALL_MUST, [dict(r, role="must") for r in must], rights
    may = [r for r in rights if r["right"] == "may"]
    return ANY_MAY, [dict(r, role="may") for r in may], rights


def require_must_by_sms(eligible: list) -> None:
    """A stored ``must`` of a user since moved to PIN: that user could confirm neither way (a must
    approver confirms by SMS only, identity takes no code from a PIN user), so a request opened now
    would never complete. Refuse it and say whose right or method to fix."""
    stuck = [e for e in eligible if e["role"] == "must" and e.get("confirmation") != "sms"]
    if stuck:
        names = ", ".join(e.get("name") or str(e["user_id"]) for e in stuck)
        raise MustNeedsSms(f"'Moet accorderen' staat aan voor {names}, maar deze gebruiker bevestigt niet met een "
                           "sms-code. Laat de gebruiker met sms bevestigen of wijzig het accordeerrecht.",
                           {"field": "document_type", "user_ids": [e["user_id"] for e in stuck]})


def client_setting(session, client_id: int) -> ClientSetting | None:
    return session.get(ClientSetting, client_id)


def self_manage_allowed(session, client_id: int) -> bool:
    setting = client_setting(session, client_id)
    return bool(setting and setting.self_manage)


def require_manager(session, principal, client_id: int) -> str:
    """How the principal may change this client's rights: 'staff' or 'client' (needs its PIN)."""
    if principal.is_staff:
        if not (principal.has_right("approval") or principal.has_right("admin")):
            raise NotAllowed("U heeft geen rechten om accordeerrechten te wijzigen.")
        return "staff"
    if principal.is_client and client_id in principal.superuser_client_ids:
        if not self_manage_allowed(session, client_id):
            raise SelfManagementOff("Het kantoor beheert de accordeerrechten van deze cliënt.")
        return "client"
    raise NotAllowed("U heeft geen rechten om accordeerrechten te wijzigen.")


def set_settings(session, principal, client: dict, data: dict) -> dict:
    if not principal.is_staff or not (principal.has_right("approval") or principal.has_right("admin")):
        raise NotAllowed("Alleen het kantoor bepaalt of een cliënt zijn rechten zelf beheert.")
    setting = client_setting(session, client["id"])
    if setting is None:
        setting = ClientSetting(client_id=client["id"], firm_id=client["firm_id"])
        session.add(setting)
    setting.self_manage = data["self_manage"]
    setting.updated_by = principal.user_id
    setting.updated_at = utcnow()
    session.flush()
    return {"client_id": client["id"], "self_manage": setting.self_manage}


def set_right(session, principal, client: dict, users: list, data: dict) -> dict:
    """Store one right; the caller has checked who may do this (and the PIN for client users)."""
    user = next((u for u in users if u["id"] == data["user_id"]), None)
    if user is None:
        raise UnknownClientUser("Deze gebruiker hoort niet bij deze cliënt.", {"field": "user_id"})
    if data["right"] == "must" and user.get("confirmation") != "sms":
        raise MustNeedsSms("'Moet accorderen' kan alleen voor gebruikers die met een sms-code bevestigen.",
                           {"field": "right"})
    key = {"client_id": client["id"], "user_id": user["id"], "document_type": data["document_type"]}
    row = session.get(ApprovalRight, key, with_for_update=True)
    if row is None:
        row = ApprovalRight(**key, firm_id=client["firm_id"], right=data["right"])
        session.add(row)
    row.right = data["right"]
    row.updated_by = principal.user_id
    row.updated_at = utcnow()
    # Open requests keep the rights they opened with; say so, so staff can re-open them.
    changed = _mark_changed(session, client, data)
    session.flush()
    return {"client_id": client["id"], "user_id": user["id"], "document_type": data["document_type"],
            "right": data["right"], "open_requests_unchanged": sorted(changed)}


def _mark_changed(session, client, data) -> list:
    ids = session.scalars(sa.select(Request.id).where(
        Request.client_id == client["id"], Request.document_type == data["document_type"],
        Request.status == PENDING)).all()
    if ids:
        session.execute(sa.update(Request).where(Request.id.in_(ids)).values(rights_changed=True))
    return list(ids)


def matrix(session, client: dict, users: list, types: dict) -> dict:
    """Every user's right per document type, with the effective rule per type."""
    explicit = explicit_rights(session, client["id"])
    rows = []
    for user in users:
        rows.append({"user_id": user["id"], "name": user.get("name"), "username": user.get("username"),
                     "confirmation": user.get("confirmation"), "superuser": bool(user.get("superuser")),
                     "rights": {code: right_of(user, code, explicit) for code in types}})
    rules = {}
    for code in types:
        rule, eligible, _ = snapshot(users, explicit, code)
        rules[code] = {"rule": rule, "approvers": [e["user_id"] for e in eligible]}
    return {"client_id": client["id"], "self_manage": self_manage_allowed(session, client["id"]),
            "users": rows, "types": [{"code": c, "name": n} for c, n in types.items()], "rules": rules}


def require_pin(principal, pin: str | None, client_id: int, check_confirmation) -> None:
    """A client superuser changes rights only with its own PIN (checked and counted by identity)."""
    if not pin:
        raise ConfirmationRequired("Bevestig de wijziging met uw PIN-code.", {"field": "pin"})
    check_confirmation(principal.user_id, "pin", pin, None)
