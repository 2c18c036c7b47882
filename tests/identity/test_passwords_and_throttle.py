"""Passwords (SPEC §3) and login throttling keyed by username, known or not."""
import statistics
import time
import uuid

import pytest

from identity.exceptions import WeakPassword
from identity.passwords import check_policy, common_passwords
from tests.identity.helpers import Firm


def test_bundled_list_is_large():
    words = common_passwords()
    assert len(words) >= 10_000 and "wachtwoord" in words and "iloveyou" in words


def test_activation_applies_the_password_policy(portal, db_engine):
    firm = Firm(portal)
    username = f"pieter-{uuid.uuid4().hex[:6]}"
    created = firm.admin.post("/api/v1/staff", json={"username": username, "name": "Pieter", "branch_id": None})
    assert created.status_code == 201, created.text
    code = created.json()["activation_code"]
    firm_name = firm.admin.get("/api/v1/me").json()["firm"]["name"]

    def activate(password, code=code):
        return portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                           "password": password})

    for weak in ("kort", "x" * 129, "wachtwoord", "Sunshine2024!", "iloveyou", f"mijn {username} sleutel",
                 f"{firm_name.upper()} rocks 42"):
        answer = activate(weak)
        assert answer.status_code == 422, (weak, answer.text)
        assert answer.json()["error"] == "weak_password"
    # no composition rules: a long lowercase passphrase is fine, and the code then is used up
    assert activate("paarse olifanten dansen traag").status_code == 200
    assert activate("nog een lange zin als wachtwoord").json()["error"] == "invalid_activation"
    assert portal.login(username.upper(), "paarse olifanten dansen traag").get("/api/v1/me").status_code == 200
    with db_engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM identity.users WHERE username = %s",
                                      (username,)).scalar()
    assert stored.startswith("$argon2id$")


def _fail(portal, username, password="helemaal verkeerd 1"):
    return portal.api().post("/api/v1/session", json={"username": username, "password": password})


def test_throttling_is_the_same_for_known_and_unknown_users(portal):
    firm = Firm(portal)
    known = firm.data["admin"]["username"]
    unknown = f"niemand-{uuid.uuid4().hex[:6]}"
    timings = {known: [], unknown: []}
    blocked = {}
    for name in (known, unknown):
        for attempt in range(10):
            started = time.perf_counter()
            answer = _fail(portal, name.upper() if attempt % 2 else name)  # the key is the lowercased username
            timings[name].append(time.perf_counter() - started)
            assert answer.status_code == 401, answer.text
            assert answer.json() == {"error": "invalid_credentials", "message": "Gebruikersnaam of wachtwoord onjuist."}
        answer = _fail(portal, name)
        assert answer.status_code == 429
        assert int(answer.headers["Retry-After"]) >= 1
        blocked[name] = answer.json()
        if name == known:  # even the right password waits while the account is throttled
            assert _fail(portal, known, firm.data["admin"]["password"]).status_code == 429
            # the delays grow: after the wait, one more failure locks for longer
            time.sleep(int(answer.headers["Retry-After"]) + 0.3)
            assert _fail(portal, known).status_code == 401
            assert int(_fail(portal, known).headers["Retry-After"]) >= 3
        assert blocked[name]["error"] == "login_throttled"
    assert blocked[known]["message"] == blocked[unknown]["message"]
    # an unknown user costs about as much time as a wrong password (both run one argon2 check)
    ratio = statistics.median(timings[unknown]) / statistics.median(timings[known])
    assert 0.33 < ratio < 3, timings


def test_parallel_guesses_do_not_slip_past_the_throttle(portal):
    """A burst of guesses at once gets no more tries than the same guesses one after another."""
    import eventlet
    firm = Firm(portal)
    known = firm.data["admin"]["username"]
    for _ in range(10):
        assert _fail(portal, known).status_code == 401
    locked = _fail(portal, known)
    assert locked.status_code == 429
    time.sleep(int(locked.headers["Retry-After"]) + 0.3)
    # the lock has run out: one more try is allowed, and then the account waits again
    pool = eventlet.GreenPool(10)
    statuses = sorted(pool.imap(lambda _i: _fail(portal, known, f"gok nummer {_i} fout").status_code, range(10)))
    assert statuses.count(401) == 1 and statuses.count(429) == 9, statuses


@pytest.mark.parametrize("weak", ["aaaaaaaa", "zzzzzzzzzzzz", "12121212", "abcabcab", "xyxyxyxy", "ABABABABAB",
                                  "abcdefgh", "hgfedcba", "98765432", "aaaaaaaaaaaaaaaa1", "wachtwoordwachtwoord"])
def test_repeats_and_runs_are_refused_like_common_passwords(weak):
    """What every cracking list tries first (one short piece repeated, a run of the alphabet or digits)."""
    with pytest.raises(WeakPassword):
        check_policy(weak, "jan.jansen", "Kantoor X")


@pytest.mark.parametrize("fine", ["paarse olifanten dansen traag", "correct horse correct horse",
                                  "Xq7#mP2!vL9z", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-sleutel-van-mij"])
def test_ordinary_passphrases_still_pass(fine):
    check_policy(fine, "jan.jansen", "Kantoor X")
