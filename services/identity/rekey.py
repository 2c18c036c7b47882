"""identity's part of ``akkoord rotate-secret-key``: the clients' BSNs are re-encrypted with the current
AKKOORD_SECRET_KEY. PINs and activation codes are known only to their holders, so they cannot be re-hashed
here: those still made with an older key are counted (a PIN moves when it is next used, pins.py; a code
ends when used or expired), so the platform team knows when AKKOORD_SECRET_KEY_PREVIOUS can go."""
import sqlalchemy as sa

from chassis import crypto
from identity import activation, keyed, pins
from identity.clients import BSN_PURPOSE
from identity.models import ActivationCode, Client, User


def rekey(conn: sa.Connection) -> crypto.RekeyReport:
    clients = Client.__table__
    report = crypto.rekey_table(conn, clients, BSN_PURPOSE, clients.c.bsn_encrypted, size=500)
    report.left_under_previous = left_under_previous(conn)
    return report


def left_under_previous(conn: sa.Connection) -> dict[str, int]:
    """PINs and activation codes that would stop working if the previous keys were dropped now. Only the
    usable ones count: a locked PIN, the left-over PIN of a user who confirms by SMS and anything of a
    deactivated user need a new letter anyway (tokens refuses deactivated users, so they would never clear)."""
    if not keyed.rotating():
        return {"pins": 0, "activation_codes": 0}  # with one key, nothing is under another one that still works
    current = keyed.current()
    users = User.__table__
    pins_left = 0
    usable = [users.c.pin_hash.is_not(None), users.c.confirmation_method == "pin", users.c.active.is_(True),
              users.c.pin_failures < pins.MAX_FAILURES]
    for rows in crypto.batches(conn, users, [users.c.pin_hash], where=usable, size=5000):
        # a hash without a tag predates key rotation: made with an older key, or at least not known to be current
        pins_left += sum(1 for row in rows if pins.key_tag(row.pin_hash) != current.tag)
    codes = ActivationCode.__table__
    now = activation.now()
    codes_left = conn.scalar(
        sa.select(sa.func.count()).select_from(codes).join(users, users.c.id == codes.c.user_id)
        .where(codes.c.used_at.is_(None), codes.c.expires_at > now, users.c.active.is_(True),
               sa.not_(codes.c.code_hash.startswith(keyed.current_tag_prefix(), autoescape=True))))
    conn.commit()
    return {"pins": pins_left, "activation_codes": int(codes_left or 0)}
