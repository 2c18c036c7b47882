"""Login sessions: random bearer tokens stored as hashes, idle and absolute expiry."""
import datetime as dt

import sqlalchemy as sa
from eventlet import tpool

from chassis import secrets
from identity import principal_changes
from identity.exceptions import InvalidCredentials, LoginThrottled, SessionExpired
from identity.models import Branch, Firm, LoginThrottle, Session, User

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
    return min(dt.timedelta(seconds=2 ** (failures - FREE_FAILURES + 1)), MAX_LOCK)  # 2 s, 4 s, 8 s, ...


def throttle_key(username: str) -> str:
    return (username or "").replace("\x00", "").strip().lower()[:150]


def _throttle_row(session, key: str) -> LoginThrottle:
    """The counter for this username, created if missing, locked for this transaction."""
    table = LoginThrottle.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).values(username_key=key, failures=0, updated_at=now())
                    .on_conflict_do_nothing(index_elements=["username_key"]))
    return session.scalars(sa.select(LoginThrottle).where(LoginThrottle.username_key == key)
                           .with_for_update()).one()


def _refuse_if_locked(row: LoginThrottle | None, moment: dt.datetime) -> None:
    if row is not None and row.locked_until and row.locked_until > moment:
        wait = (row.locked_until - moment).total_seconds()
        raise LoginThrottled("Te veel mislukte pogingen; probeer het later opnieuw.",
                             {"retry_after": max(1, int(wait + 0.999))})


def check_throttle(session, key: str) -> None:
    _refuse_if_locked(session.get(LoginThrottle, key), now())


def begin_attempt(session, key: str) -> None:
    """Count a password attempt as failed before it is checked, under the counter's row lock: parallel
    guesses queue on that lock and each sees those before it (a check before and a count after the slow
    argon2 check let a whole burst through). A login that succeeds clears the count (record_success)."""
    record_failure(session, key, refuse_if_locked=True)


def record_failure(session, key: str, refuse_if_locked: bool = False) -> None:
    """Count a failure for the username (known or not); the count survives the error we raise next."""
    row = _throttle_row(session, key)
    moment = now()
    if refuse_if_locked:
        _refuse_if_locked(row, moment)
    row.failures += 1
    lock = _lock_for(row.failures)
    row.locked_until = moment + lock if lock else None
    row.updated_at = moment
    session.commit()


def record_success(session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    if row is not None and (row.failures or row.locked_until):
        row.failures = 0
        row.locked_until = None


def check_password(session, username: str, password: str) -> User:
    """The user if the password is right; the same error (and about the same time) otherwise,
    whether or not the username exists. Throttled per lowercased username; the caller clears the
    count (``record_success``) once the whole login succeeded, so for an SMS login not before the code."""
    key = throttle_key(username)
    begin_attempt(session, key)
    user = session.scalars(sa.select(User).where(sa.func.lower(User.username) == key)).first()
    if user is None or not user.active or not user.password_hash:
        # argon2 runs in an OS thread (it releases the GIL) so the hub keeps serving others
        tpool.execute(secrets.dummy_verify, password or "")
        ok = False
    else:
        ok = tpool.execute(secrets.verify_password, user.password_hash, password or "")
    if not ok:  # already counted by begin_attempt
        raise InvalidCredentials("Gebruikersnaam of wachtwoord onjuist.")
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
    end_sessions_of(session, [user_id])


def end_sessions_of(session, user_ids, keep_session_id: int | None = None) -> None:
    """End every open session of these users (deactivated, or their login made stricter); ``keep_session_id``:
    the one a user works in now, which goes on (its own password change)."""
    ids = sorted({int(u) for u in user_ids})
    moment = now()
    keep = [Session.id != keep_session_id] if keep_session_id is not None else []
    for start in range(0, len(ids), 5000):
        session.execute(sa.update(Session).where(Session.user_id.in_(ids[start:start + 5000]),
                                                 Session.ended_at.is_(None), *keep).values(ended_at=moment))
    principal_changes.mark(session, ids)


def firm_and_branch(session, user: User) -> tuple[Firm, Branch | None]:
    firm = session.get(Firm, user.firm_id)
    branch = session.get(Branch, user.branch_id) if user.branch_id else None
    return firm, branch
