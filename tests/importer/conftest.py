"""Helpers for the import wizard's end-to-end tests (real gateway, services, RabbitMQ, PostgreSQL)."""
import time

import pytest


class Wizard:
    def __init__(self, portal):
        self.portal = portal
        self.firm = portal.create_firm(branches=["Amsterdam", "Utrecht"])
        admin = self.firm["admin"]
        self.api = portal.login(admin["username"], admin["password"])

    def group(self, name="Nieuwe cliënten"):
        response = self.api.post("/api/v1/groups", json={"name": name, "kind": "client", "rights": ["approval"]})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def upload(self, filename, content, expect=202, **form):
        response = self.api.post("/api/v1/imports", files={"file": (filename, content)}, data=form)
        assert response.status_code == expect, response.text
        return response.json()

    def wait(self, import_id, statuses=("ready", "done", "failed"), timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            response = self.api.get(f"/api/v1/imports/{import_id}")
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in statuses:
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.1)

    def rows(self, import_id, status=None):
        params = {"per_page": 1000}
        if status:
            params["status"] = status
        response = self.api.get(f"/api/v1/imports/{import_id}/rows", params=params)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def commit(self, import_id, rows="all", group_id=None, expect=202):
        response = self.api.post(f"/api/v1/imports/{import_id}/commit", json={"rows": rows, "group_id": group_id})
        assert response.status_code == expect, response.text
        return response.json()

    def clients(self, **params):
        params.setdefault("per_page", 500)
        response = self.api.get("/api/v1/clients", params=params)
        assert response.status_code == 200, response.text
        return {c["number"]: c for c in response.json()["items"]}


@pytest.fixture
def wizard(portal):
    return Wizard(portal)
