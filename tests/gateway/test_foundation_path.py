"""The walking skeleton: HTTP → gateway → RabbitMQ → identity → PostgreSQL and back."""


def test_firm_admin_logs_in_sees_me_and_logs_out(portal):
    firm = portal.create_firm(branches=["Amsterdam"])
    admin = firm["admin"]

    api = portal.login(admin["username"], admin["password"])
    me = api.get("/api/v1/me")
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user"]["username"] == admin["username"]
    assert body["firm"]["id"] == firm["firm_id"]
    assert "admin" in body["rights"]

    assert api.delete("/api/v1/session").status_code == 204
    after = api.get("/api/v1/me")
    assert after.status_code == 401
    assert after.json()["error"] == "session_expired"


def test_wrong_password_is_401_json(portal):
    firm = portal.create_firm()
    response = portal.api().post("/api/v1/session", json={"username": firm["admin"]["username"],
                                                          "password": "niet het goede wachtwoord"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
