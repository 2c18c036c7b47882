"""The gateway's principal cache: it saves the token RPC, yet a change in identity shows at once.

The portals here keep principals for 300 s, so anything a test sees change within a request
can only come from identity's ``principals_changed`` broadcast (or the local logout), never
from the entry expiring.
"""
import time
import uuid

import pytest
import sqlalchemy as sa

from gateway.principals import PrincipalStore
from tests.fixtures import Portal
from tests.identity.helpers import Firm


# -- the store ------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_entries_expire_after_the_ttl():
    clock = FakeClock()
    store = PrincipalStore(ttl=5, size=10, clock=clock)
    store.put("token-a", {"user_id": 1})
    clock.now += 4.9
    assert store.get("token-a") == {"user_id": 1}
    clock.now += 0.2
    assert store.get("token-a") is None


def test_a_zero_ttl_turns_the_cache_off():
    store = PrincipalStore(ttl=0, size=10)
    store.put("token-a", {"user_id": 1})
    assert store.get("token-a") is None and len(store) == 0


def test_the_oldest_entries_leave_past_the_size():
    store = PrincipalStore(ttl=60, size=2)
    for n in range(3):
        store.put(f"token-{n}", {"user_id": n})
    assert store.get("token-0") is None
    assert store.get("token-1") == {"user_id": 1} and store.get("token-2") == {"user_id": 2}


def test_forgetting_users_drops_all_their_tokens_only():
    store = PrincipalStore(ttl=60, size=10)
    store.put("phone", {"user_id": 7})
    store.put("laptop", {"user_id": 7})
    store.put("other", {"user_id": 8})
    assert store.forget_users([7]) == 2
    assert store.get("phone") is None and store.get("laptop") is None
    assert store.get("other") == {"user_id": 8}


def test_an_answer_fetched_before_a_change_is_not_stored_after_it():
    store = PrincipalStore(ttl=60, size=10)
    generation = store.generation       # a request starts its token RPC ...
    store.forget_users([7])             # ... identity reports user 7 changed meanwhile ...
    store.put("phone", {"user_id": 7}, generation)  # ... the old answer must not be cached
    assert store.get("phone") is None


def test_tokens_are_kept_only_as_digests():
    store = PrincipalStore(ttl=60, size=10)
    store.put("very-secret-token", {"user_id": 1})
    assert all(isinstance(key, bytes) and len(key) == 32 for key in store._entries)
    assert b"very-secret-token" not in b"".join(store._entries)


# -- through the real gateway -----------------------------------------------------------------------

@pytest.fixture
def cached_portal(service_config, monkeypatch):
    monkeypatch.setenv("AKKOORD_PRINCIPAL_CACHE_SECONDS", "300")
    portal = Portal(service_config).start()
    yield portal
    portal.stop()


def _admin_staff(firm):
    group = firm.staff_group(rights=("admin", "users", "approval"))
    return firm.staff(branch_index=None, rights_group=group)


def test_a_cached_token_is_used_without_asking_identity(service_config, monkeypatch, database_url):
    """Ending a session behind identity's back (straight in its table) is not seen until the entry
    expires: proof that requests within the TTL do not ask identity, and that the TTL bounds it."""
    monkeypatch.setenv("AKKOORD_PRINCIPAL_CACHE_SECONDS", "2")
    portal = Portal(service_config).start()
    try:
        firm = Firm(portal)
        assert firm.admin.get("/api/v1/me").status_code == 200
        engine = sa.create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE identity.sessions SET ended_at = now() WHERE user_id = :u"),
                         {"u": firm.admin_principal["user_id"]})
        engine.dispose()
        assert firm.admin.get("/api/v1/me").status_code == 200  # still cached
        time.sleep(2.2)
        assert firm.admin.get("/api/v1/me").status_code == 401  # expired: identity says the session ended
    finally:
        portal.stop()


def test_logout_refuses_the_token_at_once(cached_portal):
    firm = Firm(cached_portal)
    assert firm.admin.get("/api/v1/me").status_code == 200
    assert firm.admin.delete("/api/v1/session").status_code == 204
    response = firm.admin.get("/api/v1/me")
    assert response.status_code == 401, response.text


def test_a_deactivated_user_is_refused_at_once(cached_portal):
    firm = Firm(cached_portal)
    staff = _admin_staff(firm)
    assert staff["api"].get("/api/v1/me").status_code == 200  # now cached for 300 s
    assert firm.admin.patch(f"/api/v1/users/{staff['id']}", json={"active": False}).status_code == 200
    response = staff["api"].get("/api/v1/me")
    assert response.status_code == 401, response.text


def test_a_withdrawn_right_is_refused_at_once(cached_portal):
    firm = Firm(cached_portal)
    staff = _admin_staff(firm)
    created = staff["api"].post("/api/v1/groups", json={"name": f"G {uuid.uuid4().hex[:6]}", "kind": "client",
                                                        "rights": ["approval"]})
    assert created.status_code == 201, created.text
    changed = firm.admin.patch(f"/api/v1/users/{staff['id']}", json={"rights": ["approval"]})
    assert changed.status_code == 200, changed.text
    refused = staff["api"].post("/api/v1/groups", json={"name": f"G {uuid.uuid4().hex[:6]}", "kind": "client",
                                                        "rights": ["approval"]})
    assert refused.status_code == 403, refused.text


def _gateway_store(portal) -> PrincipalStore:
    from gateway.principals import PrincipalCache
    gateway = next(c for c in portal.runner.containers if c.service_name == "gateway")
    return next(d for d in gateway.dependencies if isinstance(d, PrincipalCache)).store


def test_only_the_changed_user_leaves_the_cache(cached_portal):
    firm = Firm(cached_portal)
    staff = _admin_staff(firm)
    assert staff["api"].get("/api/v1/me").status_code == 200
    assert firm.admin.get("/api/v1/me").status_code == 200
    store = _gateway_store(cached_portal)
    admin_token = firm.admin.headers["Authorization"][7:]
    assert store.get(staff["api"].headers["Authorization"][7:])["user_id"] == staff["id"]
    assert firm.admin.patch(f"/api/v1/users/{staff['id']}", json={"name": "Sam Andere Naam"}).status_code == 200
    # a name is not part of the principal: nobody leaves
    assert store.get(staff["api"].headers["Authorization"][7:]) is not None
    assert firm.admin.patch(f"/api/v1/users/{staff['id']}", json={"active": False}).status_code == 200
    deadline = time.monotonic() + 5
    while store.get(staff["api"].headers["Authorization"][7:]) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get(staff["api"].headers["Authorization"][7:]) is None
    assert store.get(admin_token)["user_id"] == firm.admin_principal["user_id"]
