"""SMS settings and the SMS message list are the firm's: a branch's own Beheer may not change them for every
branch, nor read the numbers texted for other branches."""
from tests.notify.helpers import Firm


def test_branch_admin_cannot_change_firm_sms_settings_or_list_its_messages(outbox_portal):
    firm = Firm(outbox_portal, branches=["Amsterdam", "Utrecht"])
    branch_admin = firm.staff(branch_index=0, name="Bea Vestigingsbeheer", rights=("admin",))["api"]

    assert branch_admin.get("/api/v1/settings/sms").status_code == 200  # reading the firm's rules is fine
    response = branch_admin.put("/api/v1/settings/sms", json={"enabled": False})
    assert response.status_code == 403, response.text
    assert firm.admin.get("/api/v1/settings/sms").json()["enabled"] is True  # SMS login still works firm-wide
    assert branch_admin.get("/api/v1/settings/sms/messages").status_code == 403

    # the firm-wide Beheer may
    assert firm.admin.put("/api/v1/settings/sms", json={"daily_cap": 50}).json()["daily_cap"] == 50
    assert firm.admin.get("/api/v1/settings/sms/messages").status_code == 200


def test_client_user_without_the_news_right_does_not_read_news(outbox_portal):
    firm = Firm(outbox_portal, branches=["Amsterdam"])
    response = firm.admin.post("/api/v1/news", json={"title": "Kantoor dicht", "body": "Op Koningsdag."})
    assert response.status_code == 201, response.text
    client = firm.client()
    cor = firm.client_user(client["id"], name="Cor Klant")
    assert [i["title"] for i in cor["api"].get("/api/v1/news").json()["items"]] == ["Kantoor dicht"]

    changed = firm.admin.patch(f"/api/v1/users/{cor['id']}", json={"rights": ["approval"]})
    assert changed.status_code == 200, changed.text
    response = cor["api"].get("/api/v1/news")
    assert response.status_code == 403, response.text


def test_news_title_or_body_of_only_spaces_is_refused(outbox_portal):
    firm = Firm(outbox_portal, branches=["Amsterdam"])
    for body in ({"title": "   ", "body": "Tekst."}, {"title": "Titel", "body": " \n\t "}):
        response = firm.admin.post("/api/v1/news", json=body)
        assert response.status_code == 422, response.text
    assert firm.admin.get("/api/v1/news").json()["items"] == []
