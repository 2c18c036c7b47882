"""Bad input gets the right 4xx with SPEC §4's JSON body; health, readiness, OpenAPI."""
import datetime as dt
import logging

import pytest
import sqlalchemy as sa
from nameko import config as nameko_config

from chassis.secrets import token_digest


def assert_error(response, status, code=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "message"}
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["error"] == code
    return body


def test_malformed_json_is_400(portal):
    response = portal.api().post("/api/v1/session", data="{not json",
                                 headers={"Content-Type": "application/json"})
    assert_error(response, 400, "bad_request")


def test_json_that_is_not_an_object_is_400(portal):
    response = portal.api().post("/api/v1/session", json=["a", "b"])
    assert_error(response, 400, "bad_request")


def test_wrong_content_type_is_415(portal):
    response = portal.api().post("/api/v1/session", data="username=a&password=b",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415, "unsupported_media_type")


def test_missing_fields_are_422_per_field(portal):
    body = assert_error(portal.api().post("/api/v1/session", json={"username": "x"}), 422, "invalid")
    assert "password" in body["details"]["fields"]


def test_unknown_route_is_json_404(portal):
    for method in ("get", "post", "delete"):
        assert_error(getattr(portal.api(), method)("/api/v1/bestaat-niet"), 404, "not_found")
    assert_error(portal.api().get("/nergens/heen"), 404, "not_found")


def test_missing_and_garbage_tokens_are_401(portal):
    assert_error(portal.api().get("/api/v1/me"), 401, "not_authenticated")
    assert_error(portal.api("x" * 43).get("/api/v1/me"), 401, "session_expired")
    response = portal.api().get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_error(response, 401)


def test_platform_route_needs_the_platform_token(portal):
    body = {"name": "X", "admin": {"username": "abc", "password": "lang genoeg wachtwoord", "name": "A"}}
    assert_error(portal.api().post("/api/v1/platform/firms", json=body), 401)
    assert_error(portal.api("wrong-token").post("/api/v1/platform/firms", json=body), 401)
    firm = portal.create_firm()
    user_api = portal.login(firm["admin"]["username"], firm["admin"]["password"])
    assert_error(user_api.post("/api/v1/platform/firms", json=body), 401)


def test_session_tokens_are_random_hashed_and_expire(portal, db_engine):
    firm = portal.create_firm()
    admin = firm["admin"]
    login = portal.api().post("/api/v1/session", json={"username": admin["username"], "password": admin["password"]})
    token = login.json()["token"]
    assert len(token) >= 43  # 256 bits, urlsafe base64 (>= 128 bits required)
    other = portal.api().post("/api/v1/session", json={"username": admin["username"],
                                                       "password": admin["password"]}).json()["token"]
    assert other != token

    with db_engine.connect() as conn:
        stored = [row[0] for row in conn.execute(sa.text("SELECT token_hash FROM identity.sessions"))]
    assert token not in stored and all(len(h) == 64 for h in stored)

    api = portal.api(token)
    assert api.get("/api/v1/me").status_code == 200

    def shift(column, delta, of=token):
        with db_engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE identity.sessions SET {column} = {column} - :d "
                                 "WHERE token_hash = :h"), {"d": delta, "h": token_digest(of)})
        portal.drop_cached_principals()  # a change behind identity's back: as if the gateway's TTL ran out

    # 29 idle minutes: still valid; 31: expired.
    shift("last_seen_at", dt.timedelta(minutes=29))
    assert api.get("/api/v1/me").status_code == 200
    shift("last_seen_at", dt.timedelta(minutes=31))
    assert_error(api.get("/api/v1/me"), 401, "session_expired")

    # Absolute lifetime: active all along, but older than 12 hours.
    api2 = portal.api(other)
    assert api2.get("/api/v1/me").status_code == 200
    shift("created_at", dt.timedelta(hours=12, minutes=1), of=other)
    assert_error(api2.get("/api/v1/me"), 401, "session_expired")


def test_healthz_and_readyz(portal):
    assert portal.api().get("/healthz").json() == {"status": "ok"}
    ready = portal.api().get("/readyz")
    assert ready.status_code == 200 and ready.json()["broker"] and ready.json()["database"]


def test_readyz_is_503_without_database(portal):
    with nameko_config.patch({"DATABASE_URL": "postgresql://127.0.0.1:1/nothing"}):
        response = portal.api().get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] is False and response.json()["broker"] is True


def test_readyz_is_503_without_broker(portal, monkeypatch):
    # Only the probe is pointed at a closed port: patching the process-wide AMQP_URI would also
    # break any reply the in-process services send meanwhile (notify's timer calls identity).
    from chassis import health
    from gateway.routes import system
    monkeypatch.setattr(system, "broker_ok",
                        lambda timeout=2.0: health.broker_ok("pyamqp://guest:guest@127.0.0.1:1/", timeout))
    response = portal.api().get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"] is False


def test_openapi_lists_every_route(portal):
    from gateway.api import ROUTES
    from gateway.openapi import openapi_path

    document = portal.api().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for spec in ROUTES:
        if spec.path.startswith("/<path:"):
            continue
        path, _ = openapi_path(spec.path)
        for method in spec.method.split(","):
            assert method.lower() in document["paths"][path], f"{method} {path} missing from OpenAPI"
    login = document["paths"]["/api/v1/session"]["post"]
    assert set(login["requestBody"]["content"]["application/json"]["schema"]["required"]) == {"username", "password"}


def test_logs_never_contain_secrets(portal, captured_logs):
    firm = portal.create_firm()
    admin = firm["admin"]
    api = portal.login(admin["username"], admin["password"])
    token = api.headers["Authorization"].split()[1]
    api.get("/api/v1/me")
    portal.api().post("/api/v1/session", json={"username": admin["username"], "password": "fout-" + admin["password"]})
    logging.getLogger("akkoord.test").info("login attempt", extra={"password": admin["password"], "token": token})
    logging.getLogger("akkoord.test").info(f"debug dump password={admin['password']} Authorization: Bearer {token}")
    api.delete("/api/v1/session")
    captured = captured_logs.getvalue()
    assert '"path": "/api/v1/me"' in captured  # the gateway did log these requests
    for secret in (admin["password"], token, portal.platform_token):
        assert secret not in captured


def test_paths_no_rule_can_match_still_answer_json(portal):
    # A newline in a path segment matches no werkzeug rule, not even the catch-all.
    assert_error(portal.api().get("/api/v1/approvals/%0A/evidence"), 404, "not_found")
    assert_error(portal.api().get("/api/v1/branches/12%0A"), 404, "not_found")
