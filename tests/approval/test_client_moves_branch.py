"""A client that moves to another branch takes its approval requests along: the old branch's staff
lose them (404, as for the client itself), the new branch's staff get them. approval learns of the
move from identity's events (a single edit or an import batch); replays and older events change
nothing."""
import datetime as dt
import time
import uuid

import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher

from tests.approval.helpers import World, add_staff, wait_for


def _publish_identity(event_type, data, occurred_at, event_id=None):
    """An identity event as its outbox relay publishes it."""
    payload = {"event_id": event_id or str(uuid.uuid4()), "event_type": event_type,
               "occurred_at": occurred_at.isoformat() + "Z", "data": data}
    event_dispatcher()("identity", event_type, payload)
    return payload["event_id"]


def _handled(db_engine, schema, event_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT status FROM {schema}.inbox WHERE event_id = :e"),
                            {"e": event_id}).scalars().all()


def _copy(db_engine, schema, client_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT branch_id FROM {schema}.client_branches WHERE client_id = :c"),
                            {"c": client_id}).scalar()


def test_moved_client_takes_its_requests_to_the_new_branch(approval_portal, fake_twilio, db_engine):
    w = World(approval_portal, fake_twilio)
    amsterdam, utrecht = w.branch_ids
    client = w.client("Verhuizer BV", branch_index=0)
    anna = w.user(client["id"], "Anna Jansen", confirmation="pin")
    ams, utr = add_staff(w, 0), add_staff(w, 1)
    pending = w.upload(w.admin, client["id"], title="Jaarrekening 2025").json()["approval_id"]
    approved = w.upload(w.admin, client["id"], document_type="vat", title="Btw Q1").json()["approval_id"]
    assert anna["api"].post(f"/api/v1/approvals/{approved}/approve", json={"pin": anna["pin"]}).ok
    assert ams["api"].get(f"/api/v1/approvals/{pending}").status_code == 200
    assert utr["api"].get(f"/api/v1/approvals/{pending}").status_code == 404

    moved = w.admin.patch(f"/api/v1/clients/{client['id']}", json={"branch_id": utrecht})
    assert moved.status_code == 200 and moved.json()["branch_id"] == utrecht, moved.text
    wait_for(lambda: utr["api"].get(f"/api/v1/approvals/{pending}").status_code == 200)

    # Amsterdam lost the client, and with it every request, its PDF and its withdrawal
    assert ams["api"].get(f"/api/v1/clients/{client['id']}").status_code == 404
    for request_id in (pending, approved):
        hidden = ams["api"].get(f"/api/v1/approvals/{request_id}")
        assert hidden.status_code == 404 and hidden.json()["error"] == "approval_not_found"
        assert ams["api"].get(f"/api/v1/approvals/{request_id}/document").status_code == 404
        assert ams["api"].get(f"/api/v1/approvals/{request_id}/evidence").status_code == 404
    assert ams["api"].post(f"/api/v1/approvals/{pending}/withdraw", json={}).status_code == 404
    assert ams["api"].get("/api/v1/approvals", params={"status": "all"}).json()["items"] == []

    # Utrecht has them all; the evidence chain is untouched by the move
    screen = utr["api"].get("/api/v1/approvals", params={"status": "all"}).json()
    assert sorted(i["id"] for i in screen["items"]) == sorted([pending, approved])
    assert {i["branch_id"] for i in screen["items"]} == {utrecht}
    assert utr["api"].get(f"/api/v1/approvals/{pending}/document").status_code == 200
    assert utr["api"].get(f"/api/v1/approvals/{approved}/evidence").json()["verification"]["valid"] is True
    # a new document goes to Utrecht too, and Utrecht may withdraw
    fresh = w.upload(utr["api"], client["id"], document_type="income_tax", title="IB 2025")
    assert fresh.status_code == 201, fresh.text
    assert utr["api"].get(f"/api/v1/approvals/{fresh.json()['approval_id']}").json()["branch_id"] == utrecht
    assert utr["api"].post(f"/api/v1/approvals/{pending}/withdraw", json={}).status_code == 200
    # the client user sees what it saw before
    assert [i["id"] for i in anna["api"].get("/api/v1/approvals").json()["items"]] == [fresh.json()["approval_id"]]
    assert _copy(db_engine, "approval", client["id"]) == utrecht != amsterdam


def test_import_moves_clients_and_older_or_repeated_events_do_not_move_them_back(approval_portal, fake_twilio,
                                                                                   db_engine):
    w = World(approval_portal, fake_twilio)
    amsterdam, utrecht = w.branch_ids
    client = w.client("Importklant BV", branch_index=0)
    w.user(client["id"], "Anna Jansen")
    ams, utr = add_staff(w, 0), add_staff(w, 1)
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]
    path = f"/api/v1/approvals/{request_id}"

    # an import batch (one clients_imported event) moves the client to Utrecht
    result = approval_portal.rpc.identity.upsert_clients(
        principal=w.admin_principal, rows=[{"number": client["number"], "name": client["name"],
                                            "branch": "Utrecht"}])
    assert result["updated"] == 1, result
    wait_for(lambda: utr["api"].get(path).status_code == 200)
    assert ams["api"].get(path).status_code == 404
    assert _copy(db_engine, "approval", client["id"]) == utrecht

    # events from before the move arrive late, twice: the client stays in Utrecht
    an_hour_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    old = {"client_id": client["id"], "firm_id": w.firm["firm_id"], "branch_id": amsterdam,
           "number": client["number"], "name": client["name"]}
    stale = [_publish_identity("client_updated", old, an_hour_ago),
             _publish_identity("clients_imported", {"firm_id": w.firm["firm_id"], "created": [],
                                                    "updated": [old]}, an_hour_ago)]
    stale.append(_publish_identity("client_updated", old, an_hour_ago, event_id=stale[0]))
    for event_id in stale:
        wait_for(lambda: _handled(db_engine, "approval", event_id))
        assert _handled(db_engine, "approval", event_id) == ["done"]  # once per event, however often sent
    assert _copy(db_engine, "approval", client["id"]) == utrecht
    assert utr["api"].get(path).status_code == 200 and ams["api"].get(path).status_code == 404

    # a newer event does move it (and replaying that one changes nothing more)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    back = _publish_identity("clients_imported", {"firm_id": w.firm["firm_id"], "created": [],
                                                  "updated": [old]}, now)
    wait_for(lambda: ams["api"].get(path).status_code == 200)
    _publish_identity("clients_imported", {"firm_id": w.firm["firm_id"], "created": [], "updated": [old]}, now,
                      event_id=back)
    # filing and notify take these events too: let them finish before the portal stops
    for schema in ("filing", "notify"):
        for event_id in stale[:2] + [back]:
            wait_for(lambda: _handled(db_engine, schema, event_id))
    time.sleep(0.5)  # the replays
    assert utr["api"].get(path).status_code == 404
    assert _handled(db_engine, "approval", back) == ["done"]
