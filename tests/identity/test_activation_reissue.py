"""A forgotten password: the firm sends a new activation code (a letter for a client user, shown once for
staff); the user chooses a new password with it. Nobody else ever chooses or sees the password (SPEC §3)."""
from tests.identity.helpers import Firm, letter_secrets
from tests.identity.test_users import PASSWORD, new_client_user

NEW_PASSWORD = "een nieuwe zin die ook niemand raadt"


def _activate(portal, username, code, password=NEW_PASSWORD):
    return portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                      "password": password})


def _reissue(api, user_id):
    return api.post(f"/api/v1/users/{user_id}/activation", json={})


def test_a_client_user_who_forgot_its_password_gets_a_new_activation_letter(portal):
    firm = Firm(portal)
    client = firm.client(0, street="Kerkweg", house_number="3", postcode="3511AA", city="Utrecht")
    data, _ = new_client_user(portal, firm, firm.admin, client["id"])
    username = data["username"]

    first = _reissue(firm.admin, data["id"])
    assert first.status_code == 201, first.text
    assert first.json()["username"] == username and "activation_code" not in first.json()
    old_code = letter_secrets(portal, firm.admin_principal, first.json()["letter_batch_id"])[username]
    # a second letter (the first got lost in the post) voids the first one's code
    second = _reissue(firm.admin, data["id"])
    assert second.status_code == 201, second.text
    code = letter_secrets(portal, firm.admin_principal, second.json()["letter_batch_id"])[username]
    assert code != old_code
    assert _activate(portal, username, old_code).status_code == 422
    # until the new code is used, the old password still works (a letter sent by mistake locks nobody out)
    assert portal.api().post("/api/v1/session", json={"username": username, "password": PASSWORD}).status_code == 200
    assert _activate(portal, username, code).status_code == 200
    assert _activate(portal, username, code).status_code == 422  # once
    assert portal.api().post("/api/v1/session", json={"username": username, "password": PASSWORD}).status_code == 401
    assert portal.login(username, NEW_PASSWORD).get("/api/v1/me").json()["user"]["username"] == username


def test_who_may_send_a_new_activation_code(portal):
    firm = Firm(portal)
    client = firm.client(0)
    boss, boss_api = new_client_user(portal, firm, firm.admin, client["id"], superuser=True)
    colleague, colleague_api = new_client_user(portal, firm, firm.admin, client["id"], name="Kees Collega")
    # a client superuser for its colleague: the letter still comes from the firm
    assert _reissue(boss_api, colleague["id"]).status_code == 201
    # an ordinary client user does not, not even for the superuser
    answer = _reissue(colleague_api, boss["id"])
    assert answer.status_code == 403, answer.text
    # staff of another branch do not see the user at all
    other_branch = firm.staff(branch_index=1)
    assert _reissue(other_branch["api"], colleague["id"]).status_code == 404
    # a deactivated user gets no new code in the post
    assert firm.admin.patch(f"/api/v1/users/{colleague['id']}", json={"active": False}).status_code == 200
    answer = _reissue(firm.admin, colleague["id"])
    assert answer.status_code == 422 and "uitgeschakeld" in answer.json()["message"]


def test_staff_get_the_new_code_shown_once_and_only_from_an_admin(portal):
    firm = Firm(portal)
    colleague = firm.staff()
    plain = firm.staff(rights_group=firm.staff_group(rights=("approval", "documents")))
    assert _reissue(plain["api"], colleague["id"]).status_code == 403
    answer = _reissue(firm.admin, colleague["id"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["username"] == colleague["username"] and body["letter_batch_id"] is None
    assert _activate(portal, colleague["username"], body["activation_code"]).status_code == 200
    assert portal.login(colleague["username"], NEW_PASSWORD).get("/api/v1/me").status_code == 200


def test_using_the_new_code_ends_the_sessions_of_the_old_password(portal):
    """The firm sends a new code when a password is forgotten, or feared known to someone else: whoever is
    logged in with the old password is logged out once the new one is chosen."""
    firm = Firm(portal)
    client = firm.client(0)
    data, old_session = new_client_user(portal, firm, firm.admin, client["id"])
    assert old_session.get("/api/v1/me").status_code == 200
    sent = _reissue(firm.admin, data["id"])
    code = letter_secrets(portal, firm.admin_principal, sent.json()["letter_batch_id"])[data["username"]]
    assert old_session.get("/api/v1/me").status_code == 200  # a letter alone changes nothing yet
    assert _activate(portal, data["username"], code).status_code == 200
    assert old_session.get("/api/v1/me").status_code == 401
