"""The client IP that sessions and the approval evidence record: X-Forwarded-For counts only as far as
AKKOORD_TRUSTED_PROXIES proxies of our own appended to it (default 0: the socket's address)."""
import pytest
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from chassis import config
from chassis.secrets import token_digest
from gateway.api import client_ip
from tests.approval.helpers import World

BROWSER = {"User-Agent": "Mozilla/5.0 (akkoord-test)"}


def request(forwarded=None, remote="10.1.2.3"):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": remote}).get_environ())


def test_default_ignores_x_forwarded_for(monkeypatch):
    monkeypatch.delenv("AKKOORD_TRUSTED_PROXIES", raising=False)
    assert client_ip(request("6.6.6.6")) == "10.1.2.3"
    assert client_ip(request("6.6.6.6, 203.0.113.7")) == "10.1.2.3"
    assert client_ip(request()) == "10.1.2.3"


@pytest.mark.parametrize("forwarded, hops, expected", [
    ("203.0.113.7", 1, "203.0.113.7"),
    ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # the caller's own entry is left of the ingress's
    ("6.6.6.6,203.0.113.7", 1, "203.0.113.7"),
    ("6.6.6.6, 203.0.113.7, 198.51.100.2", 2, "203.0.113.7"),
    ("2001:db8::17", 1, "2001:db8::17"),
    ("203.0.113.7", 2, "10.1.2.3"),  # fewer entries than proxies: not from our proxies
    ("", 1, "10.1.2.3"),
    (None, 1, "10.1.2.3"),
    (" , ", 1, "10.1.2.3"),
])
def test_trusted_proxies_take_the_nth_entry_from_the_right(monkeypatch, forwarded, hops, expected):
    monkeypatch.setenv("AKKOORD_TRUSTED_PROXIES", str(hops))
    assert client_ip(request(forwarded)) == expected


@pytest.mark.parametrize("value", ["-1", "een", "1.5"])
def test_a_bad_trusted_proxies_value_fails_loudly(monkeypatch, value):
    monkeypatch.setenv("AKKOORD_TRUSTED_PROXIES", value)
    with pytest.raises(ValueError):
        config.load()


def _session_ip(db_engine, api):
    from identity.models import Session
    digest = token_digest(api.headers["Authorization"][7:])
    with db_engine.connect() as conn:
        return conn.execute(sa.select(Session.ip).where(Session.token_hash == digest)).scalar_one()


def _approve_and_read_evidence_ip(world, headers):
    client = world.client("Bakkerij Jansen BV")
    anna = world.user(client["id"], "Anna Jansen", confirmation="pin")
    anna["api"].headers.update({**BROWSER, **headers})
    request_id = world.upload(world.admin, client["id"]).json()["approval_id"]
    approved = anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]})
    assert approved.status_code == 200, approved.text
    records = world.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["records"]
    [approval] = [r for r in records if r["event"] == "approved"]
    return approval["ip"]


def test_spoofed_x_forwarded_for_is_not_in_the_evidence_or_the_session(portal, db_engine, monkeypatch):
    monkeypatch.delenv("AKKOORD_TRUSTED_PROXIES", raising=False)
    spoofed = {"X-Forwarded-For": "6.6.6.6"}
    assert _approve_and_read_evidence_ip(World(portal), spoofed) == "127.0.0.1"

    firm = portal.create_firm()
    login = portal.api().post("/api/v1/session", headers=spoofed, json={
        "username": firm["admin"]["username"], "password": firm["admin"]["password"]})
    assert login.status_code == 200, login.text
    assert _session_ip(db_engine, portal.api(login.json()["token"])) == "127.0.0.1"


def test_behind_one_proxy_the_rightmost_entry_is_recorded(portal, db_engine, monkeypatch):
    monkeypatch.setenv("AKKOORD_TRUSTED_PROXIES", "1")
    # what the ingress sends on: the caller's own header, then the address it saw
    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    assert _approve_and_read_evidence_ip(World(portal), forwarded) == "203.0.113.7"

    firm = portal.create_firm()
    login = portal.api().post("/api/v1/session", headers=forwarded, json={
        "username": firm["admin"]["username"], "password": firm["admin"]["password"]})
    assert login.status_code == 200, login.text
    assert _session_ip(db_engine, portal.api(login.json()["token"])) == "203.0.113.7"
