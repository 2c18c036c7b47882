"""Activation codes by e-mail, through notify (SPEC §3: "by letter, or e-mail"), for a firm that chooses
e-mail for an action. The mail carries the same fixed labels as the letter (``Gebruikersnaam:``,
``Activeringscode:``); notify keeps its body encrypted at rest. PINs never go by e-mail: they travel only
to letters (SPEC §2). As with letters, a code nobody can receive is never issued: if notify does not take
the mail, the caller's whole change is rolled back; and notify holds the mail unsent until this
transaction's outbox confirms it (``mails_confirmed``), so a change that rolls back sends nothing."""
import logging
import os
import uuid

from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from chassis.errors import AkkoordError
from identity.activation import TTL
from identity.exceptions import MailFailed
from identity.models import User

log = logging.getLogger(__name__)

SUBJECT = "Uw activeringscode voor het cliëntenportaal"
BATCH = 500  # mails per send_emails call


def activation_text(user: User, code: str) -> str:
    days = TTL.days
    portal = os.environ.get("AKKOORD_PUBLIC_URL")
    where = (f"Activeer uw account op {portal.rstrip('/')}/activeren met:" if portal
             else "Activeer uw account in het portaal (Account activeren) met:")
    return "\n".join([
        f"Beste {user.name},",
        "",
        "Uw kantoor heeft een account voor u klaargezet in het cliëntenportaal. " + where,
        "",
        f"Gebruikersnaam: {user.username}",
        f"Activeringscode: {code}",
        "",
        f"De code werkt één keer en is {days} dagen geldig. U kiest daarna zelf uw wachtwoord; niemand anders "
        "kent het. Heeft u dit niet verwacht? Neem dan contact op met uw kantoor.",
    ])


def _payload(user: User, code: str, branch_id: int | None) -> dict:
    return {"firm_id": user.firm_id, "branch_id": branch_id, "to": user.email, "subject": SUBJECT,
            "text": activation_text(user, code), "key": f"activation:{user.id}:{uuid.uuid4().hex}", "hold": True}


def _refused(exc) -> MailFailed:
    log.warning("notify refused activation mail", extra={
        "exc_type": getattr(exc, "exc_type", type(exc).__name__)})
    return MailFailed("De e-mail met de activeringscode kon niet worden verstuurd; er is niets gewijzigd. "
                      "Probeer het later opnieuw, of kies een brief.", {"service": "notify"})


def send_activation(notify, events, user: User, code: str, branch_id: int | None) -> None:
    payload = _payload(user, code, branch_id)
    try:
        notify.send_email(payload)
    except (UnknownService, MethodNotFound, RemoteError, AkkoordError) as exc:
        raise _refused(exc) from None
    events.emit("mails_confirmed", {"firm_id": user.firm_id, "keys": [payload["key"]]})


def send_activations(notify, events, items: list[tuple[User, int | None, str]]) -> set[int]:
    """Many activation mails (bulk user creation), ``BATCH`` per call to notify: gives the ids of the users
    whose mail notify took; a mail it refuses (an address it cannot send to) leaves that user to a letter."""
    mailed = set()
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        payloads = [_payload(user, code, branch_id) for user, branch_id, code in chunk]
        try:
            answers = notify.send_emails({"mails": payloads})
        except (UnknownService, MethodNotFound, RemoteError, AkkoordError) as exc:
            raise _refused(exc) from None
        taken = {answer["key"] for answer in answers if answer["status"] != "failed"}
        keys = [payload["key"] for payload in payloads if payload["key"] in taken]
        mailed |= {user.id for (user, _, _), payload in zip(chunk, payloads) if payload["key"] in taken}
        if keys:
            events.emit("mails_confirmed", {"firm_id": chunk[0][0].firm_id, "keys": keys})
    return mailed
