"""`make demo` runs on the embedded SQLite default: SMS outbox, settings, news and e-mail work there too."""
import uuid

import pytest
from nameko import config as nameko_config
from nameko.testing.utils import find_free_port

from chassis.db import dispose_engines
from chassis.migrations import upgrade_all
from tests.fixtures import Portal
from tests.notify.conftest import wait_for
from tests.notify.helpers import envelope, publish
from tests.notify.test_sending import mobile


@pytest.fixture
def sqlite_portal(vhost, tmp_path, monkeypatch, fake_smtp, fast_retries):
    monkeypatch.setenv("AKKOORD_SMS_BACKEND", "outbox")
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "1")  # as make demo: the test reads /dev/sms
    for key, value in fake_smtp.env().items():
        monkeypatch.setenv(key, value)
    url = f"sqlite:///{tmp_path / 'akkoord.db'}"
    upgrade_all(url)
    values = {"AMQP_URI": vhost.amqp_uri, "DATABASE_URL": url,
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}", "serializer": "json", "max_workers": 10}
    with nameko_config.patch(values):
        portal = Portal(values).start()
        yield portal
        portal.stop()
    dispose_engines()


def test_notify_on_embedded_sqlite(sqlite_portal, fake_smtp):
    firm = sqlite_portal.create_firm(branches=["Amsterdam"])
    admin = sqlite_portal.login(firm["admin"]["username"], firm["admin"]["password"])
    assert admin.put("/api/v1/settings/sms", json={"sender": "Kantoor", "approval_sms": True}).status_code == 200

    key = f"demo:{uuid.uuid4().hex}"
    payload = {"firm_id": firm["firm_id"], "to": mobile(), "body": "Uw code is 112233.", "key": key,
               "purpose": "login"}
    first = sqlite_portal.rpc.notify.send_sms(payload=payload)
    assert sqlite_portal.rpc.notify.send_sms(payload=payload) == first
    rows = sqlite_portal.api().get("/dev/sms", params={"format": "json"}).json()["items"]
    assert [r["body"] for r in rows] == ["Uw code is 112233."] and rows[0]["sender"] == "Kantoor"

    assert admin.post("/api/v1/news", json={"title": "Welkom", "body": "Fijn dat u er bent."}).status_code == 201
    assert [n["title"] for n in admin.get("/api/v1/news").json()["items"]] == ["Welkom"]

    event = envelope("request_approved", {"request_id": 1, "firm_id": firm["firm_id"],
                                          "branch_id": firm["branch_ids"][0], "client_id": 1,
                                          "document_type": "vat", "title": "Btw Q2", "by_user_id": None})
    publish("approval", event)
    publish("approval", event)
    [mail] = wait_for(lambda: fake_smtp.to(firm["admin"]["email"]))
    assert mail["Subject"] == "Akkoord gegeven: Btw Q2"
