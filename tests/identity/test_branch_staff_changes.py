"""What branch staff may change about client users: a user's record (name, rights, active flag, mobile, PIN and
login method) serves every client it is linked to, so staff of a branch change only users all of whose clients
are in their branch; a user also linked to a client of another branch is changed by firm-wide staff. Reading
stays as it is."""
import pytest

from tests.identity.helpers import Firm, error_name
from tests.identity.test_users import new_client_user


def listed(api, client_id, user_id) -> dict:
    items = api.get(f"/api/v1/clients/{client_id}/users").json()["items"]
    return next(u for u in items if u["id"] == user_id)


def refused_for_other_branch(answer):
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "forbidden" and "andere vestiging" in answer.json()["message"], answer.text


def test_branch_staff_cannot_change_a_user_shared_with_another_branch(portal):
    firm = Firm(portal)  # Vestigingenbeheer on
    a, b = firm.client(0), firm.client(1)
    shared, shared_api = new_client_user(portal, firm, firm.admin, a["id"], name="Gedeelde Gebruiker",
                                         mobile="+31611223344")
    linked = firm.admin.post(f"/api/v1/clients/{b['id']}/users", json={"user_id": shared["id"]})
    assert linked.status_code == 201, linked.text
    own, _own_api = new_client_user(portal, firm, firm.admin, a["id"], name="Eigen Gebruiker")
    staff = firm.staff(branch_index=0)
    api = staff["api"]

    # reading stays: the branch's client lists the shared user
    before = listed(api, a["id"], shared["id"])
    assert before["active"] is True and before["mobile"] == "+31611223344"

    for body in ({"name": "Overgenomen"}, {"rights": []}, {"active": False}, {"mobile": "+31699887766"},
                 {"email": "x@example.nl"}):
        refused_for_other_branch(api.patch(f"/api/v1/users/{shared['id']}", json=body))
    for selection in ({"user_ids": [shared["id"]]}, {"client_ids": [a["id"]]}):
        answer = api.post("/api/v1/tokens", json={**selection, "confirmation": "pin", "login": "password"})
        refused_for_other_branch(answer)
        assert answer.json()["details"]["user_ids"] == [shared["id"]]
    # the same refusals at the RPC, whatever the gateway does
    for call in (lambda: portal.rpc.identity.update_user(staff["principal"], shared["id"], {"active": False}),
                 lambda: portal.rpc.identity.issue_tokens(staff["principal"], {
                     "user_ids": [shared["id"]], "confirmation": "pin", "login": "password"})):
        with pytest.raises(Exception) as err:
            call()
        assert error_name(err.value) == "NotAllowed"
    assert listed(firm.admin, a["id"], shared["id"]) == before
    assert shared_api.get("/api/v1/me").status_code == 200  # not deactivated, still logged in

    # users of the branch alone stay the branch's to change
    renamed = api.patch(f"/api/v1/users/{own['id']}", json={"name": "Eigen Gebruiker BV"})
    assert renamed.status_code == 200, renamed.text
    issued = api.post("/api/v1/tokens", json={"user_ids": [own["id"]], "confirmation": "pin", "login": "password"})
    assert issued.status_code == 200, issued.text

    # firm-wide staff (not only admins) change the shared user
    firm_wide = firm.staff(branch_index=None)
    assert firm_wide["api"].patch(f"/api/v1/users/{shared['id']}", json={"name": "Gedeeld"}).status_code == 200
    assert firm.admin.post("/api/v1/tokens", json={"user_ids": [shared["id"]], "confirmation": "pin",
                                                   "login": "password"}).status_code == 200
    off = firm.admin.patch(f"/api/v1/users/{shared['id']}", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False


def test_without_multi_branch_branch_staff_change_every_user(portal):
    firm = Firm(portal, multi_branch=False)
    a, b = firm.client(0), firm.client(1)
    shared, _api = new_client_user(portal, firm, firm.admin, a["id"], name="Gedeelde Gebruiker")
    assert firm.admin.post(f"/api/v1/clients/{b['id']}/users", json={"user_id": shared["id"]}).status_code == 201
    api = firm.staff(branch_index=0)["api"]
    assert api.patch(f"/api/v1/users/{shared['id']}", json={"name": "Gedeeld"}).status_code == 200
