"""Letters that carry a secret (PINs, activation codes), printed by the letters service.

A clear secret leaves identity only here, over RPC to letters (SPEC §2). One batch
per branch, because each branch prints on its own letterhead. If letters cannot
take the batch, the caller's whole change is rolled back and the failure reported,
so no secret is ever issued that nobody can read. The reverse holds too: letters keeps each batch
held until this transaction's outbox confirms it (``letter_batches_confirmed``), so a change that rolls
back after letters took its batch never has its letters printed.
"""
import logging
import os

from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from chassis.errors import AkkoordError
from identity.exceptions import LettersFailed
from identity.models import Client, User

log = logging.getLogger(__name__)


def entry(user: User, client: Client | None, secret: str) -> dict:
    return {"recipient_name": user.name, "client_name": client.name if client else "",
            "street": (client.street if client else None) or "", "house_number": (client.house_number if client else None) or "",
            "postcode": (client.postcode if client else None) or "", "city": (client.city if client else None) or "",
            "country": (client.country if client else None) or "", "username": user.username, "secret": secret}


def portal_address() -> str | None:
    """The portal's public address (AKKOORD_PUBLIC_URL) that the letters tell clients to go to."""
    url = (os.environ.get("AKKOORD_PUBLIC_URL") or "").strip().rstrip("/")
    return url[:200] or None


def acting_principal(principal: dict, branch_id: int) -> dict:
    """Staff print as themselves. A client superuser's new colleague gets its letter from the firm:
    identity (which issues every principal) asks letters on behalf of the client's branch."""
    if principal.get("kind") == "staff":
        return principal
    return {"kind": "staff", "user_id": None, "username": "identity", "firm_id": principal.get("firm_id"),
            "branch_id": branch_id, "client_ids": [], "superuser_client_ids": [], "rights": [], "session_id": None}


def print_batches(letters, events, principal: dict, kind: str, by_branch: dict[int, list[dict]]) -> list[int]:
    batch_ids = []
    for branch_id in sorted(by_branch):
        items = by_branch[branch_id]
        if not items:
            continue
        try:
            result = letters.create_batch(acting_principal(principal, branch_id),
                                          {"kind": kind, "branch_id": branch_id, "letters": items, "hold": True,
                                           "portal_url": portal_address()})
        except (UnknownService, MethodNotFound, RemoteError, AkkoordError) as exc:
            log.warning("letters refused a batch", extra={"kind": kind, "branch_id": branch_id, "count": len(items),
                                                          "exc_type": getattr(exc, "exc_type", type(exc).__name__)})
            raise LettersFailed("De brieven konden niet worden aangemaakt; er is niets gewijzigd. "
                                "Probeer het later opnieuw.", {"service": "letters"}) from None
        batch_ids.append(result["batch_id"])
    if batch_ids:
        events.emit("letter_batches_confirmed", {"firm_id": principal.get("firm_id"), "kind": kind,
                                                 "batch_ids": batch_ids})
    return batch_ids
