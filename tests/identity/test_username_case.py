"""Usernames are one name whatever their case: login matches them without case, so the database must refuse
"Jan" next to "jan" too, and two requests for case variants at once give one user and a clear 409."""
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.identity.helpers import Firm, db_client_user


def test_case_variant_of_a_username_is_taken(portal):
    firm = Firm(portal)
    client = firm.client(0)
    username = f"Jan-{uuid.uuid4().hex[:8]}"
    first = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Jan", "username": username})
    assert first.status_code == 201, first.text
    for other in (username.lower(), username.upper()):
        again = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Jan", "username": other})
        assert again.status_code == 409 and again.json()["error"] == "username_taken", again.text
        staff = firm.admin.post("/api/v1/staff", json={"username": other, "name": "Jan", "branch_id": None})
        assert staff.status_code == 409 and staff.json()["error"] == "username_taken", staff.text


def test_case_variants_at_once_give_one_user(portal, db_engine):
    firm = Firm(portal)
    clients = [firm.client(0) for _ in range(6)]
    base = f"jan-{uuid.uuid4().hex[:8]}"
    # six spellings of one name: none equal to another, all equal without case
    variants = [base, base.upper()] + [head + base[3:] for head in ("Jan", "jAn", "JaN", "jaN")]
    assert len(set(variants)) == 6 and len({v.lower() for v in variants}) == 1
    pool = eventlet.GreenPool(6)
    answers = list(pool.imap(lambda pair: firm.admin.post(f"/api/v1/clients/{pair[0]['id']}/users",
                                                          json={"name": "Jan Dubbel", "username": pair[1]}),
                             zip(clients, variants)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 5, [a.text for a in answers]
    assert all(a.json()["error"] == "username_taken" for a in answers if a.status_code == 409)
    with db_engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM identity.users WHERE lower(username) = :u"),
                             {"u": base}).scalar()
    assert count == 1


def test_database_refuses_a_case_variant(portal, db_engine):
    from identity.models import User
    firm = Firm(portal)
    client = firm.client(0)
    user = db_client_user(db_engine, firm.id, client["id"])
    with pytest.raises(IntegrityError):
        with db_engine.begin() as conn:
            conn.execute(sa.insert(User.__table__).values(
                firm_id=firm.id, kind="client", username=user["username"].upper(), name="Kopie", rights=[],
                active=True, confirmation_method="pin", login_method="password", pin_failures=0,
                failed_logins=0, created_at=sa.func.now()))
