"""Password policy of SPEC §3: length 8–128, no composition rules, no common or
guessable passwords (bundled list; username or firm name inside), argon2id."""
import unicodedata
from functools import lru_cache
from pathlib import Path

from eventlet import tpool

from chassis import secrets
from identity.exceptions import WeakPassword, WrongPassword

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset:
    if not COMMON_PASSWORDS_FILE.exists():
        return frozenset()
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _pattern(text: str) -> bool:
    """One short piece repeated ('aaaaaaaa', 'abcabcab') or a run ('abcdefgh', '98765432'): what every
    cracking list tries right after its words, so as guessable as a common password."""
    if any(text == (text[:size] * (len(text) // size + 1))[:len(text)] for size in range(1, len(text) // 2 + 1)):
        return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return steps in ({1}, {-1})


def check_policy(password: str, username: str = "", firm_name: str = "") -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise WeakPassword(f"Kies een wachtwoord van minstens {MIN_LENGTH} tekens.", {"field": "password"})
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Een wachtwoord heeft hoogstens {MAX_LENGTH} tekens.", {"field": "password"})
    folded = _fold(password)
    core = folded.strip("0123456789!.")
    if (folded in common_passwords() or core in common_passwords() or _pattern(folded)
            or (len(core) >= 4 and _pattern(core))):
        raise WeakPassword("Dit wachtwoord is te bekend en makkelijk te raden; kies een ander.",
                           {"field": "password"})
    for word, label in ((username, "uw gebruikersnaam"), (firm_name, "de naam van het kantoor")):
        if word and len(word) >= 3 and _fold(word) in folded:
            raise WeakPassword(f"Het wachtwoord mag {label} niet bevatten.", {"field": "password"})


def hash_new_password(password: str, username: str = "", firm_name: str = "") -> str:
    check_policy(password, username, firm_name)
    # argon2 in an OS thread: it releases the GIL, so the eventlet hub keeps serving others
    return tpool.execute(secrets.hash_password, password)


def change_own(session, user, current: str, new: str, firm_name: str, keep_session_id: int | None) -> None:
    """A logged-in user's new password. The new one is checked first (a weak choice is no failed login);
    then the current one as a login is (counted before the slow check, under the same per-username lock),
    so a stolen session is no way around the login's limit; the user's other sessions end, so a device that
    may know the old password is logged out."""
    from identity import sessions  # sessions imports nothing of ours that imports this module
    if current == new:
        raise WeakPassword("Kies een ander wachtwoord dan het huidige.", {"field": "new_password"})
    try:
        check_policy(new, user.username, firm_name)
    except WeakPassword as exc:
        raise WeakPassword(exc.message, {"field": "new_password"}) from None
    key = sessions.throttle_key(user.username)
    sessions.begin_attempt(session, key)  # commits the count, and with it ends the row lock on the user
    session.refresh(user, with_for_update=True)  # lock it again: a parallel change waits for this one
    if not user.password_hash or not tpool.execute(secrets.verify_password, user.password_hash, current or ""):
        raise WrongPassword("Uw huidige wachtwoord is onjuist.", {"field": "current_password"})
    user.password_hash = tpool.execute(secrets.hash_password, new)
    sessions.record_success(session, key)
    sessions.end_sessions_of(session, [user.id], keep_session_id=keep_session_id)
