"""Login sessions: random bearer tokens stored as hashes, idle and absolute expiry."""
import datetime as dt

import sqlalchemy as sa

from chassis import secrets
from identity.exceptions import InvalidCredentials, LoginThrottled, SessionExpired
from identity.models import Branch, Firm, Session, User

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
# Throttling: the first failures are free, then each one doubles the wait.
FREE_FAILURES = 10
MAX_LOCK = dt.timedelta(minutes=15)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _lock_for(failures: int) -> dt.timedelta:
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_LOCK)


def check_password(session, username: str, password: str) -> User:
    """The user if the password is right; the same error (and about the same time) otherwise."""
    user = session.scalars(sa.select(User).where(sa.func.lower(User.username) == (username or "").lower())
                           .with_for_update()).first()
    moment = now()
    if user is None or not user.active or not user.password_hash:
        secrets.dummy_verify(password or "")
        raise InvalidCredentials("Gebruikersnaam of wachtwoord onjuist.")
    if user.locked_until and user.locked_until > moment:
        wait = (user.locked_until - moment).total_seconds()
        raise LoginThrottled("Te veel mislukte pogingen; probeer het later opnieuw.",
                             {"retry_after": max(1, int(wait + 0.999))})
    if not secrets.verify_password(user.password_hash, password or ""):
        user.failed_logins += 1
        lock = _lock_for(user.failed_logins)
        if lock:
            user.locked_until = moment + lock
        session.commit()  # the failure must count even though we raise
        raise InvalidCredentials("Gebruikersnaam of wachtwoord onjuist.")
    user.failed_logins = 0
    user.locked_until = None
    return user


def start_session(session, user: User, ip: str | None = None) -> str:
    token = secrets.new_token()
    session.add(Session(user_id=user.id, token_hash=secrets.token_digest(token), ip=(ip or "")[:45]))
    session.flush()
    return token


def resolve(session, token: str) -> tuple[Session, User]:
    record = session.scalars(sa.select(Session).where(Session.token_hash == secrets.token_digest(token))).first()
    moment = now()
    if (record is None or record.ended_at is not None
            or moment - record.last_seen_at > IDLE_TIMEOUT
            or moment - record.created_at > ABSOLUTE_TIMEOUT):
        raise SessionExpired("Uw sessie is verlopen of ongeldig; log opnieuw in.")
    user = session.get(User, record.user_id)
    if user is None or not user.active:
        raise SessionExpired("Uw sessie is verlopen of ongeldig; log opnieuw in.")
    # Sliding idle window; written at most once a minute to spare the database.
    if moment - record.last_seen_at > dt.timedelta(minutes=1):
        record.last_seen_at = moment
    return record, user


def end_session(session, session_id: int) -> None:
    record = session.get(Session, session_id)
    if record is not None and record.ended_at is None:
        record.ended_at = now()


def end_all_sessions(session, user_id: int) -> None:
    session.execute(sa.update(Session).where(Session.user_id == user_id, Session.ended_at.is_(None))
                    .values(ended_at=now()))


def firm_and_branch(session, user: User) -> tuple[Firm, Branch | None]:
    firm = session.get(Firm, user.firm_id)
    branch = session.get(Branch, user.branch_id) if user.branch_id else None
    return firm, branch
