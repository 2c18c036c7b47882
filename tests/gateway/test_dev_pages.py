"""/dev/sms and /dev/mail show every firm's codes to anyone: served only when AKKOORD_DEV_PAGES turns them on
(make demo, the dev overlay), 404 otherwise, and never turned on by the production overlay."""
import pytest

from chassis import config
from tests.deploy.manifests import render
from tests.notify.test_sending import mobile, sms

DEV_PAGES = ["/dev/sms", "/dev/mail"]


def _sms(portal, body):
    return portal.rpc.notify.send_sms(payload=sms(body=body, to=mobile()))


@pytest.fixture
def outbox_env(monkeypatch):
    monkeypatch.setenv("AKKOORD_SMS_BACKEND", "outbox")
    monkeypatch.delenv("AKKOORD_SMTP_HOST", raising=False)


def test_off_by_default_anonymous_gets_404(portal, outbox_env, monkeypatch):
    assert _sms(portal, "Uw code is 424242.")["status"] == "sent"
    for value in (None, "0", "", "off"):
        if value is None:
            monkeypatch.delenv("AKKOORD_DEV_PAGES", raising=False)
        else:
            monkeypatch.setenv("AKKOORD_DEV_PAGES", value)
        for path in DEV_PAGES:
            for params in ({}, {"format": "json"}):
                response = portal.api().get(path, params=params)
                assert response.status_code == 404, (value, path, response.text)
                assert response.json()["error"] == "not_found"
                assert "424242" not in response.text
        # and notify's own RPCs behind the pages, for a caller on the bus that skips the gateway
        for method in ("dev_sms_outbox", "dev_mail_outbox"):
            with pytest.raises(Exception) as refused:
                getattr(portal.rpc.notify, method)()
            assert "DevPageDisabled" in repr(refused.value) or "bestaat niet" in str(refused.value)


def test_off_even_for_a_logged_in_firm_admin(portal, outbox_env, monkeypatch):
    monkeypatch.delenv("AKKOORD_DEV_PAGES", raising=False)
    firm = portal.create_firm()
    admin = portal.login(firm["admin"]["username"], firm["admin"]["password"])
    for path in DEV_PAGES:
        assert admin.get(path).status_code == 404


def test_on_when_the_setting_says_so(portal, outbox_env, monkeypatch):
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "1")
    sent = _sms(portal, "Uw code is 515151.")
    sms = portal.api().get("/dev/sms", params={"format": "json"})
    assert sms.status_code == 200, sms.text
    assert any(row["id"] == sent["message_id"] and row["body"] == "Uw code is 515151."
               for row in sms.json()["items"])
    page = portal.api().get("/dev/sms")
    assert page.headers["Content-Type"].startswith("text/html") and "Uw code is 515151." in page.text
    mail = portal.api().get("/dev/mail", params={"format": "json"})
    assert mail.status_code == 200 and isinstance(mail.json()["items"], list)
    assert portal.api().get("/dev/mail").headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("value, expected", [(None, False), ("0", False), ("1", True), ("true", True),
                                             ("ON", True)])
def test_setting_values(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("AKKOORD_DEV_PAGES", raising=False)
    else:
        monkeypatch.setenv("AKKOORD_DEV_PAGES", value)
    assert config.load().dev_pages is expected


def test_a_bad_value_fails_loudly(monkeypatch):
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "misschien")
    with pytest.raises(ValueError):
        config.load()


def _config(overlay):
    [configmap] = [d for d in render(overlay) if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "akkoord-config"]
    return configmap["data"]


def test_production_overlay_never_turns_them_on_and_trusts_the_ingress():
    production = _config("production")
    assert production.get("AKKOORD_DEV_PAGES", "0") == "0"
    assert production["AKKOORD_TRUSTED_PROXIES"] == "1"


def test_dev_overlay_turns_them_on_and_trusts_the_ingress():
    dev = _config("dev")
    assert dev["AKKOORD_DEV_PAGES"] == "1"
    assert dev["AKKOORD_TRUSTED_PROXIES"] == "1"


def test_make_demo_turns_them_on_unless_told_otherwise(monkeypatch):
    from cli import demo
    seen = []
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "0")  # recorded, so what demo.run() sets is undone afterwards
    monkeypatch.setattr(demo, "upgrade_all", lambda url: None)
    monkeypatch.setattr(demo.runner, "run", lambda names, on_started=None: seen.append(config.load().dev_pages))
    monkeypatch.delenv("AKKOORD_DEV_PAGES", raising=False)
    assert demo.run() == 0
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "0")
    assert demo.run() == 0
    assert seen == [True, False]
