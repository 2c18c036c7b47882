"""Second factors: SMS login challenges, approval confirmations (PIN or SMS code bound to a
request and document hash), and changing one's own mobile number."""
import sqlalchemy as sa

from chassis.errors import Invalid, NotFound
from chassis.principal import Principal
from identity import pins, sessions, smscodes
from identity.exceptions import (CodeExpired, InvalidCredentials, MobileRequired, NotAllowed, WrongCode,
                                 WrongConfirmationMethod)
from identity.mobiles import masked, normalise_mobile
from identity.models import User

METHODS = ("pin", "sms")


def _active_user(session, user_id: int, lock: bool = True) -> User:
    query = sa.select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    user = session.scalars(query).first()
    if user is None or not user.active:
        raise NotFound("Deze gebruiker bestaat niet.", {"user_id": user_id})
    return user


# -- approvals ----------------------------------------------------------------
# Staff choose per user how it confirms (SPEC §3, tokens/rights); a secret of the other kind never counts.
WRONG_METHOD = {
    "pin": "U bevestigt met uw PIN-code; een sms-code wordt hiervoor niet geaccepteerd.",
    "sms": "U bevestigt met een sms-code; een PIN-code wordt hiervoor niet geaccepteerd.",
}


def require_method(user: User, method: str) -> None:
    """Refuse a confirmation by any method but the user's current one (checked before the secret)."""
    current = user.confirmation_method
    if method != current:
        raise WrongConfirmationMethod(
            WRONG_METHOD.get(current, "Voor uw account is geen bevestigingsmethode ingesteld; neem contact op "
                                      "met uw kantoor."),
            {"field": "pin" if method == "pin" else "code", "method": current})


def check(session, user_id: int, method: str, secret: str, binding: dict | None) -> bool:
    # The caller names the method, but identity decides whether it counts: only the user's own method does,
    # so a user moved to SMS cannot confirm with an old PIN (nor a PIN user with a stray code).
    user = _active_user(session, user_id)
    require_method(user, method)
    if method == "pin":
        return pins.check_pin(session, user, secret)
    if not binding:
        raise Invalid("Een sms-code hoort bij een verzoek en document.", {"field": "binding"})
    digest = smscodes.binding_digest(binding)
    challenge = smscodes.open_challenge(session, user.id, "confirm", binding=digest)
    smscodes.verify(session, challenge, secret)
    return True


def send_code(session, notify, user_id: int, binding: dict) -> dict:
    user = _active_user(session, user_id)
    require_method(user, "sms")  # a PIN user's code could never count: no SMS sent for nothing
    if not user.mobile:
        raise MobileRequired("Er is geen mobiel nummer bekend; vraag uw kantoor dit in te stellen.",
                             {"field": "mobile"})
    challenge, code = smscodes.create(session, user, "confirm", binding=smscodes.binding_digest(binding))
    session.commit()  # the code exists before the SMS can arrive
    smscodes.send(notify, user.firm_id, user.mobile, smscodes.code_text(code, "uw akkoord"),
                  f"identity:sms:{challenge.id}", "confirm")
    return {"sent": True, "expires_in": int(smscodes.TTL.total_seconds()), "to": masked(user.mobile)}


# -- SMS login ----------------------------------------------------------------
def start_login_challenge(session, notify, user: User) -> dict:
    if not user.mobile:
        raise MobileRequired("Er is geen mobiel nummer bekend; vraag uw kantoor dit in te stellen.",
                             {"field": "mobile"})
    challenge, code = smscodes.create(session, user, "login")
    session.commit()
    smscodes.send(notify, user.firm_id, user.mobile, smscodes.code_text(code, "inloggen"),
                  f"identity:sms:{challenge.id}", "login")
    return {"challenge_id": challenge.id, "second_factor": "sms", "to": masked(user.mobile)}


def finish_login_challenge(session, challenge_id: str, code: str) -> User:
    from identity.models import SmsChallenge
    challenge = session.scalars(sa.select(SmsChallenge).where(SmsChallenge.id == str(challenge_id),
                                                              SmsChallenge.purpose == "login")
                                .with_for_update()).first()
    if challenge is None:
        raise InvalidCredentials("Deze inlogpoging bestaat niet of is verlopen; log opnieuw in.")
    user = session.get(User, challenge.user_id)
    key = sessions.throttle_key(user.username if user else "")
    sessions.check_throttle(session, key)
    try:
        smscodes.verify(session, challenge, code)
    except (WrongCode, CodeExpired):
        # wrong codes also count against the account, so new challenges do not buy endless tries
        sessions.record_failure(session, key)
        raise
    if user is None or not user.active:
        raise InvalidCredentials("Deze inlogpoging bestaat niet of is verlopen; log opnieuw in.")
    sessions.record_success(session, sessions.throttle_key(user.username))
    return user


# -- own mobile number ---------------------------------------------------------
def request_mobile_change(session, notify, p: Principal, mobile: str, pin: str) -> dict:
    user = _active_user(session, p.user_id)
    if user.kind != "client":
        raise NotAllowed("Kantoormedewerkers wijzigen hun nummer via de beheerder.")
    try:
        new = normalise_mobile(mobile)
    except ValueError as exc:
        raise Invalid("De invoer is ongeldig.", {"fields": {"mobile": [str(exc)]}}) from None
    if new is None:
        raise Invalid("De invoer is ongeldig.", {"fields": {"mobile": ["Verplicht."]}})
    if user.confirmation_method != "pin":
        # the own number is set only with the PIN (SPEC §3); an SMS user has none, so the firm changes it
        raise WrongConfirmationMethod("U bevestigt met sms en heeft geen PIN-code; vraag uw kantoor om uw mobiele "
                                      "nummer te wijzigen.", {"field": "pin", "method": user.confirmation_method})
    pins.check_pin(session, user, pin)
    challenge, code = smscodes.create(session, user, "mobile", mobile=new)
    session.commit()
    smscodes.send(notify, user.firm_id, new, smscodes.code_text(code, "uw nieuwe mobiele nummer"),
                  f"identity:sms:{challenge.id}", "mobile")
    return {"sent": True, "to": masked(new)}


def confirm_mobile_change(session, notify, p: Principal, code: str, events) -> dict:
    user = _active_user(session, p.user_id)
    challenge = smscodes.open_challenge(session, user.id, "mobile")
    if challenge is None:
        raise CodeExpired("Er is geen nummerwijziging aangevraagd.", {"field": "code"})
    smscodes.verify(session, challenge, code)
    old, user.mobile = user.mobile, challenge.mobile
    events.emit("user_updated", {"user_id": user.id, "firm_id": user.firm_id, "changed": ["mobile"]})
    session.commit()
    if old and old != user.mobile:
        # the old number is told, so a takeover does not go unnoticed; the change itself stands
        try:
            smscodes.send(notify, user.firm_id, old,
                          "Het mobiele nummer van uw akkoord-account is gewijzigd. Was u dit niet? "
                          "Neem dan direct contact op met uw kantoor.",
                          f"identity:mobile-changed:{challenge.id}", "mobile_changed")
        except Exception:  # noqa: BLE001 - the notice is best effort
            pass
    return {"mobile": user.mobile}
