"""`make demo` runs on the embedded SQLite default: the approval flow and its evidence work there too."""
from tests.approval.helpers import World
from tests.chassis.test_embedded_sqlite import sqlite_portal  # noqa: F401  (the fixture)


def test_upload_view_approve_and_verify_on_sqlite(sqlite_portal):  # noqa: F811
    w = World(sqlite_portal)
    client = w.client()
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    created = w.upload(w.admin, client["id"])
    assert created.status_code == 201, created.text
    request_id = created.json()["approval_id"]
    assert anna["api"].get("/api/v1/approvals").json()["total"] == 1
    assert anna["api"].get(f"/api/v1/approvals/{request_id}/document").status_code == 200
    approved = anna["api"].post(f"/api/v1/approvals/{request_id}/approve", json={"pin": anna["pin"]})
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    evidence = w.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()
    assert [r["event"] for r in evidence["records"]] == ["created", "viewed", "approved", "completed"]
    assert evidence["verification"]["valid"] is True
