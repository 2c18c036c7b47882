"""Staff manage client users (accounts, activation codes, PINs, methods) only with the 'users' module (or as
admins): a colleague who posts news or prepares documents never issues or reads a client's secrets."""
from tests.identity.helpers import Firm
from tests.identity.test_users import new_client_user


def test_staff_without_the_users_right_issue_no_secrets_and_read_no_letters(portal):
    firm = Firm(portal)
    client = firm.client(0)
    user, _ = new_client_user(portal, firm, firm.admin, client["id"])
    issued = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                     "login": "password"})
    assert issued.status_code == 200, issued.text
    batch_id = issued.json()["letter_batch_id"]

    news_only = firm.staff(rights_group=firm.staff_group(rights=("news", "documents")))["api"]
    attempts = {
        "new client user": news_only.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Via Nieuws"}),
        "bulk users": news_only.post("/api/v1/users/bulk", json={"client_ids": [client["id"]]}),
        "PINs": news_only.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                       "login": "password"}),
        "new activation code": news_only.post(f"/api/v1/users/{user['id']}/activation", json={}),
        "change a client user": news_only.patch(f"/api/v1/users/{user['id']}", json={"mobile": "+31611122233"}),
    }
    for what, answer in attempts.items():
        assert answer.status_code == 403, (what, answer.text)
        assert "Gebruikers" in answer.json()["message"], (what, answer.text)
    # the PIN letters are not theirs to read (as if they did not exist)
    assert news_only.get(f"/api/v1/letters/{batch_id}").status_code == 404
    assert news_only.get(f"/api/v1/letters/{batch_id}/pdf").status_code == 404
    # they still see the clients and who their users are
    assert news_only.get(f"/api/v1/clients/{client['id']}/users").status_code == 200

    with_users = firm.staff(rights_group=firm.staff_group(rights=("users",)))["api"]
    assert with_users.get(f"/api/v1/letters/{batch_id}").status_code == 200
    again = with_users.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin",
                                                    "login": "password"})
    assert again.status_code == 200, again.text
    made = with_users.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Via Gebruikersbeheer"})
    assert made.status_code == 201, made.text
