"""A client's user list: staff and the client's superusers (who manage colleagues) see every user's contact
details; an ordinary client user sees its colleagues' names, and its own full record, but not their mobile
numbers (they receive login and approval codes) or e-mail addresses."""
from tests.identity.helpers import Firm, db_client_user, principal_of
from tests.identity.test_users import new_client_user

NUMBER = "+31655512345"


def test_ordinary_client_user_sees_colleagues_names_only(portal, db_engine):
    firm = Firm(portal)
    a, b = firm.client(0), firm.client(0)
    colleague = db_client_user(db_engine, firm.id, a["id"], mobile=NUMBER, name="Kees Collega")
    email = f"{colleague['username']}@example.nl"
    boss, boss_api = new_client_user(portal, firm, firm.admin, a["id"], superuser=True, name="Anna Baas")
    plain, plain_api = new_client_user(portal, firm, firm.admin, a["id"], name="Piet Gewoon",
                                       mobile="+31655554444", email="piet@example.nl")
    # superuser of another client: that gives no more sight of client A's users
    assert firm.admin.post(f"/api/v1/clients/{b['id']}/users",
                           json={"user_id": plain["id"], "superuser": True}).status_code == 201

    answer = plain_api.get(f"/api/v1/clients/{a['id']}/users")
    assert answer.status_code == 200, answer.text
    assert NUMBER not in answer.text and email not in answer.text
    rows = {u["id"]: u for u in answer.json()["items"]}
    assert set(rows) == {colleague["id"], boss["id"], plain["id"]}
    assert rows[colleague["id"]]["name"] == "Kees Collega" and "mobile" not in rows[colleague["id"]]
    assert "email" not in rows[boss["id"]]
    own = rows[plain["id"]]  # its own record in full
    assert (own["mobile"], own["email"], own["username"]) == ("+31655554444", "piet@example.nl", plain["username"])
    # the same through the RPC
    listed = portal.rpc.identity.client_users(principal_of(portal, plain_api), a["id"])
    assert NUMBER not in str(listed) and email not in str(listed)

    # those who manage the client's users see the details
    for api in (boss_api, firm.admin, firm.staff(branch_index=0)["api"]):
        rows = {u["id"]: u for u in api.get(f"/api/v1/clients/{a['id']}/users").json()["items"]}
        assert (rows[colleague["id"]]["mobile"], rows[colleague["id"]]["email"]) == (NUMBER, email)
