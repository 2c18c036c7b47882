"""Usernames are unique on the platform: two requests for the same new username at once give one user and a
clear 409 for the other, never a server error."""
import uuid

import eventlet

from tests.identity.helpers import Firm


def test_same_new_staff_username_at_once_is_a_conflict_not_a_crash(portal):
    firm = Firm(portal)
    username = f"dubbel-{uuid.uuid4().hex[:8]}"
    body = {"username": username, "name": "Dubbel", "branch_id": None}
    pool = eventlet.GreenPool(8)
    answers = list(pool.imap(lambda _i: firm.admin.post("/api/v1/staff", json=body), range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7, [a.text for a in answers]
    assert all(a.json()["error"] == "username_taken" for a in answers if a.status_code == 409)


def test_same_new_client_username_at_once_is_a_conflict_not_a_crash(portal):
    firm = Firm(portal)
    clients = [firm.client(0) for _ in range(6)]
    username = f"klant-{uuid.uuid4().hex[:8]}"
    pool = eventlet.GreenPool(6)
    answers = list(pool.imap(lambda c: firm.admin.post(f"/api/v1/clients/{c['id']}/users",
                                                       json={"name": "Dubbel Klant", "username": username}),
                             clients))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 5, [a.text for a in answers]
