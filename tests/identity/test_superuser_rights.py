"""A client superuser hands out only module rights it holds itself: the firm decides which modules a client
works with (its client group, the rights staff set), not the client's own superuser."""
import uuid

import pytest

from tests.identity.helpers import Firm, error_name, principal_of
from tests.identity.test_users import new_client_user


def rights_of(firm, client_id, user_id) -> list:
    items = firm.admin.get(f"/api/v1/clients/{client_id}/users").json()["items"]
    return next(u for u in items if u["id"] == user_id)["rights"]


def test_superuser_cannot_grant_rights_it_does_not_hold(portal):
    firm = Firm(portal)
    a = firm.client(0)
    boss, boss_api = new_client_user(portal, firm, firm.admin, a["id"], superuser=True, name="Anna Baas")
    colleague, _ = new_client_user(portal, firm, boss_api, a["id"], name="Kees Collega")
    held = sorted(boss_api.get("/api/v1/me").json()["rights"])
    assert "filing" not in held and "users" not in held  # the firm's default client group

    # not to itself, not to a colleague
    for user_id in (boss["id"], colleague["id"]):
        for extra in ("filing", "users"):
            answer = boss_api.patch(f"/api/v1/users/{user_id}", json={"rights": held + [extra]})
            assert answer.status_code == 403, (user_id, extra, answer.text)
            assert answer.json()["error"] == "forbidden"
    with pytest.raises(Exception) as err:
        portal.rpc.identity.update_user(principal_of(portal, boss_api), boss["id"], {"rights": held + ["filing"]})
    assert error_name(err.value) == "NotAllowed"
    assert rights_of(firm, a["id"], boss["id"]) == held
    assert "filing" not in rights_of(firm, a["id"], colleague["id"])

    # what it holds it may give and take away
    assert boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"rights": ["documents"]}).status_code == 200
    assert boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"rights": held}).status_code == 200
    # a right the firm gave the colleague passes along unchanged with the form, and may be taken away
    assert firm.admin.patch(f"/api/v1/users/{colleague['id']}",
                            json={"rights": held + ["filing"]}).status_code == 200
    kept = boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"rights": held + ["filing"], "name": "Kees"})
    assert kept.status_code == 200, kept.text
    assert boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"rights": held}).status_code == 200
    # staff still grant any client module
    assert firm.admin.patch(f"/api/v1/users/{boss['id']}", json={"rights": held + ["filing"]}).status_code == 200


def test_superuser_cannot_create_a_colleague_in_a_group_with_more_rights(portal):
    firm = Firm(portal)
    a = firm.client(0)
    _boss, boss_api = new_client_user(portal, firm, firm.admin, a["id"], superuser=True, name="Anna Baas")
    wide = firm.admin.post("/api/v1/groups", json={"name": f"Alles {uuid.uuid4().hex[:4]}", "kind": "client",
                                                   "rights": ["approval", "documents", "news", "filing",
                                                              "users"]}).json()
    refused = boss_api.post(f"/api/v1/clients/{a['id']}/users", json={"name": "Nieuwe Collega",
                                                                      "group_id": wide["id"]})
    assert refused.status_code == 403, refused.text
    assert all(u["name"] != "Nieuwe Collega" for u in firm.admin.get(f"/api/v1/clients/{a['id']}/users")
               .json()["items"])
    narrow = firm.admin.post("/api/v1/groups", json={"name": f"Accorderen {uuid.uuid4().hex[:4]}",
                                                     "kind": "client", "rights": ["approval"]}).json()
    made = boss_api.post(f"/api/v1/clients/{a['id']}/users", json={"name": "Nieuwe Collega",
                                                                   "group_id": narrow["id"]})
    assert made.status_code == 201, made.text
    # staff choose any client group
    assert firm.admin.post(f"/api/v1/clients/{a['id']}/users", json={"name": "Via Kantoor",
                                                                     "group_id": wide["id"]}).status_code == 201


def test_a_colleague_in_the_default_group_gets_no_right_its_superuser_lost(portal):
    """The firm took approving away from the superuser: a colleague it creates without naming a group (so in
    the firm's default client group, which approves) must not approve either, or the superuser would
    approve through an account it made for itself."""
    firm = Firm(portal)
    a = firm.client(0)
    boss, boss_api = new_client_user(portal, firm, firm.admin, a["id"], superuser=True, name="Anna Baas")
    held = boss_api.get("/api/v1/me").json()["rights"]
    assert "approval" in held
    assert firm.admin.patch(f"/api/v1/users/{boss['id']}",
                            json={"rights": [r for r in held if r != "approval"]}).status_code == 200
    firm.portal.drop_cached_principals()
    made = boss_api.post(f"/api/v1/clients/{a['id']}/users", json={"name": "Eigen Tweede Account"})
    assert made.status_code == 201, made.text
    assert "approval" not in rights_of(firm, a["id"], made.json()["id"])
    assert sorted(rights_of(firm, a["id"], made.json()["id"])) == sorted(r for r in held if r != "approval")
    # staff creating the same colleague give the group's rights in full
    by_staff = firm.admin.post(f"/api/v1/clients/{a['id']}/users", json={"name": "Via Kantoor"}).json()
    assert "approval" in rights_of(firm, a["id"], by_staff["id"])
