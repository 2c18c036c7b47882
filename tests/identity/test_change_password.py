"""A user changes its own password: it proves the current one (throttled as a login), chooses a new one under
the policy, and its other sessions end (a password change after a leak must lock the other device out)."""
import uuid

from tests.identity.helpers import Firm

NEW = "een heel ander wachtwoord voor de winter"


def test_change_own_password_ends_the_other_sessions(portal):
    firm = Firm(portal)
    staff = firm.staff()
    here = staff["api"]
    elsewhere = portal.login(staff["username"], staff["password"])
    assert elsewhere.get("/api/v1/me").status_code == 200

    wrong = here.put("/api/v1/me/password", json={"current_password": "niet het wachtwoord", "new_password": NEW})
    assert wrong.status_code == 422 and wrong.json()["error"] == "wrong_password", wrong.text
    weak = here.put("/api/v1/me/password", json={"current_password": staff["password"], "new_password": "welkom01"})
    assert weak.status_code == 422 and weak.json()["error"] == "weak_password", weak.text
    same = here.put("/api/v1/me/password", json={"current_password": staff["password"],
                                                 "new_password": staff["password"]})
    assert same.status_code == 422, same.text

    changed = here.put("/api/v1/me/password", json={"current_password": staff["password"], "new_password": NEW})
    assert changed.status_code == 204, changed.text
    assert here.get("/api/v1/me").status_code == 200  # this session goes on
    assert elsewhere.get("/api/v1/me").status_code == 401  # the other device is logged out
    old = portal.api().post("/api/v1/session", json={"username": staff["username"], "password": staff["password"]})
    assert old.status_code == 401
    assert portal.login(staff["username"], NEW).get("/api/v1/me").status_code == 200


def test_guessing_the_current_password_from_a_session_is_throttled_like_a_login(portal, monkeypatch):
    """A stolen session must not become a way to guess the password without the login's limit."""
    import datetime as dt

    from identity import sessions
    # the login's rule (10 free failures), with a lock long enough to outlast a slow machine
    monkeypatch.setattr(sessions, "_lock_for", lambda failures: dt.timedelta(
        minutes=1 if failures >= sessions.FREE_FAILURES else 0))
    firm = Firm(portal)
    staff = firm.staff()
    statuses = [staff["api"].put("/api/v1/me/password", json={
        "current_password": f"gok {uuid.uuid4().hex[:6]} nummer", "new_password": NEW}).status_code
        for _ in range(12)]
    assert statuses[:10] == [422] * 10 and statuses[-1] == 429, statuses
    # the right password is refused too while the lock lasts, at the login as well
    locked = staff["api"].put("/api/v1/me/password", json={"current_password": staff["password"], "new_password": NEW})
    assert locked.status_code == 429
    login = portal.api().post("/api/v1/session", json={"username": staff["username"], "password": staff["password"]})
    assert login.status_code == 429


def test_a_refused_new_password_is_no_failed_login(portal, monkeypatch):
    """Only a wrong current password counts towards the login's lock; a weak or unchanged new one does not."""
    import datetime as dt

    from identity import sessions
    monkeypatch.setattr(sessions, "_lock_for", lambda failures: dt.timedelta(
        minutes=1 if failures >= sessions.FREE_FAILURES else 0))
    firm = Firm(portal)
    staff = firm.staff()
    for _ in range(sessions.FREE_FAILURES + 2):
        weak = staff["api"].put("/api/v1/me/password", json={"current_password": staff["password"],
                                                             "new_password": "welkom01"})
        assert weak.status_code == 422 and weak.json()["error"] == "weak_password", weak.text
    login = portal.api().post("/api/v1/session", json={"username": staff["username"], "password": staff["password"]})
    assert login.status_code == 200, login.text
