"""What a client superuser may change about other users: name, rights, active flag and mobile belong to the
user, not to one client link, so a superuser changes only users all of whose clients it is superuser of, and
never a colleague's mobile number (it receives the approval codes). Staff keep their own rules."""
import random

import pytest

from tests.identity.helpers import Firm, error_name, principal_of
from tests.identity.test_users import new_client_user


def mobile() -> str:
    return "+3161" + "".join(random.choice("0123456789") for _ in range(7))


def listed(firm, client_id, user_id) -> dict:
    items = firm.admin.get(f"/api/v1/clients/{client_id}/users").json()["items"]
    return next(u for u in items if u["id"] == user_id)


def test_superuser_cannot_change_a_user_shared_with_another_client(portal):
    firm = Firm(portal)
    a, b = firm.client(0), firm.client(0)
    boss_a, boss_a_api = new_client_user(portal, firm, firm.admin, a["id"], superuser=True, name="Anna Baas")
    number_b = mobile()
    boss_b, boss_b_api = new_client_user(portal, firm, firm.admin, b["id"], superuser=True, name="Bert Baas",
                                         mobile=number_b)
    # staff link B's superuser to A as well, as an ordinary user there
    linked = firm.admin.post(f"/api/v1/clients/{a['id']}/users", json={"user_id": boss_b["id"]})
    assert linked.status_code == 201, linked.text
    before = listed(firm, b["id"], boss_b["id"])
    assert before["active"] is True and before["rights"] and before["mobile"] == number_b

    # the change from the report: it would have reached client B too
    attack = boss_a_api.patch(f"/api/v1/users/{boss_b['id']}",
                              json={"mobile": "+31612345670", "rights": [], "active": False})
    assert attack.status_code == 403, attack.text
    assert attack.json()["error"] == "forbidden" and "andere cliënt" in attack.json()["message"]
    for body in ({"name": "Overgenomen"}, {"rights": []}, {"active": False}, {"email": "x@example.nl"}):
        answer = boss_a_api.patch(f"/api/v1/users/{boss_b['id']}", json=body)
        assert answer.status_code == 403, (body, answer.text)
    assert listed(firm, b["id"], boss_b["id"]) == before
    assert boss_b_api.get("/api/v1/me").status_code == 200  # still logged in: not deactivated

    # the same refusal at the RPC, whatever the gateway does
    with pytest.raises(Exception) as err:
        portal.rpc.identity.update_user(principal_of(portal, boss_a_api), boss_b["id"], {"active": False})
    assert error_name(err.value) == "NotAllowed"
    assert listed(firm, b["id"], boss_b["id"]) == before

    # once A's superuser is superuser of B too, every client of the user is its own
    made = firm.admin.post(f"/api/v1/clients/{b['id']}/users", json={"user_id": boss_a["id"], "superuser": True})
    assert made.status_code == 201, made.text
    renamed = boss_a_api.patch(f"/api/v1/users/{boss_b['id']}", json={"name": "Bert de Baas"})
    assert renamed.status_code == 200, renamed.text
    assert listed(firm, b["id"], boss_b["id"])["name"] == "Bert de Baas"
    # staff change the shared user as before
    assert firm.admin.patch(f"/api/v1/users/{boss_b['id']}", json={"name": "Bert Baas"}).status_code == 200


def test_superuser_manages_own_colleagues_but_not_their_mobile_number(portal):
    firm = Firm(portal)
    a = firm.client(0)
    _boss, boss_api = new_client_user(portal, firm, firm.admin, a["id"], superuser=True, name="Anna Baas")
    number = mobile()
    colleague, colleague_api = new_client_user(portal, firm, boss_api, a["id"], name="Kees Collega", mobile=number)

    changed = boss_api.patch(f"/api/v1/users/{colleague['id']}",
                             json={"name": "Kees de Collega", "rights": ["documents"], "mobile": number})
    assert changed.status_code == 200, changed.text  # the unchanged number passes along with the form
    assert changed.json()["rights"] == ["documents"] and changed.json()["name"] == "Kees de Collega"

    # the number receives the colleague's codes: the superuser cannot point it elsewhere
    other = mobile()
    refused = boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"mobile": other})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden" and "kantoor" in refused.json()["message"]
    assert boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"mobile": None}).status_code == 403
    with pytest.raises(Exception) as err:
        portal.rpc.identity.update_user(principal_of(portal, boss_api), colleague["id"], {"mobile": other})
    assert error_name(err.value) == "NotAllowed"
    # nothing of a refused request is kept, not even the name sent with it
    both = boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"name": "Niet Opgeslagen", "mobile": other})
    assert both.status_code == 403
    row = listed(firm, a["id"], colleague["id"])
    assert (row["mobile"], row["name"]) == (number, "Kees de Collega")

    # staff may change it
    by_staff = firm.admin.patch(f"/api/v1/users/{colleague['id']}", json={"mobile": other})
    assert by_staff.status_code == 200 and by_staff.json()["mobile"] == other

    # and the superuser still deactivates a colleague of its own client only
    off = boss_api.patch(f"/api/v1/users/{colleague['id']}", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert colleague_api.get("/api/v1/me").status_code == 401
