"""The RPCs other services call on identity (docs/architecture.md contracts), through real nameko."""
import hashlib
import uuid

import pytest
import sqlalchemy as sa

from tests.identity.helpers import Firm, db_client_user, error_name


def test_branch_layout_contacts_and_staff_contacts(portal):
    firm = Firm(portal)
    amsterdam, utrecht = firm.branch_ids
    patched = firm.admin.patch(f"/api/v1/branches/{amsterdam}", json={
        "display_name": "Kantoor Amsterdam", "primary_color": "#123456", "letterhead": "Herengracht 1",
        "city": "Amsterdam", "logo_png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="})
    assert patched.status_code == 200, patched.text
    layout = portal.rpc.identity.branch_layout(amsterdam)
    assert layout["display_name"] == "Kantoor Amsterdam"
    assert layout["primary_color"] == "#123456"
    assert layout["firm_id"] == firm.id
    assert layout["logo_png"].startswith("iVBORw0KGgo")
    assert set(layout) >= {"id", "firm_id", "name", "display_name", "logo_png", "primary_color", "secondary_color",
                           "letterhead", "street", "house_number", "postcode", "city", "phone", "email"}

    in_utrecht = firm.staff(branch_index=1)
    in_amsterdam = firm.staff(branch_index=0)
    contacts = portal.rpc.identity.contacts([in_utrecht["id"], in_amsterdam["id"]])
    assert [c["id"] for c in contacts] == sorted([in_utrecht["id"], in_amsterdam["id"]])
    assert {c["branch_id"] for c in contacts} == {amsterdam, utrecht}
    assert all(set(c) == {"id", "kind", "username", "name", "email", "mobile", "firm_id", "branch_id"}
               for c in contacts)

    staff = {c["id"] for c in portal.rpc.identity.staff_contacts(firm.id, utrecht)}
    admin_id = firm.data["admin_user_id"]
    assert staff == {in_utrecht["id"], admin_id}  # the branch's staff plus the firm-wide admin


def test_client_scope_and_clients_by_numbers_respect_branches(portal):
    firm = Firm(portal)
    a = firm.client(0, number="A-1")
    b = firm.client(1, number="B-1")
    branch_a = firm.staff(branch_index=0)
    scope = portal.rpc.identity.client_scope(branch_a["principal"], a["id"])
    assert scope == {"id": a["id"], "firm_id": firm.id, "branch_id": firm.branch_ids[0], "number": "A-1",
                     "name": a["name"]}
    with pytest.raises(Exception) as err:
        portal.rpc.identity.client_scope(branch_a["principal"], b["id"])
    assert error_name(err.value) == "NotFound"
    found = portal.rpc.identity.clients_by_numbers(branch_a["principal"], ["A-1", "B-1", "nope"])
    assert list(found) == ["A-1"]
    assert set(portal.rpc.identity.clients_by_numbers(firm.admin_principal, ["A-1", "B-1"])) == {"A-1", "B-1"}
    other = Firm(portal)
    with pytest.raises(Exception) as err:
        portal.rpc.identity.client_scope(other.admin_principal, a["id"])
    assert error_name(err.value) == "NotFound"


def test_upsert_clients_is_idempotent_keeps_data_and_reports_bad_rows(portal, db_engine):
    firm = Firm(portal)
    group = firm.admin.post("/api/v1/groups", json={"name": "Import 2026", "kind": "client",
                                                    "rights": ["approval", "documents"]}).json()
    rows = [
        {"number": "1001", "name": "Bakkerij De Korst BV", "kvk": "1234567", "postcode": "1234ab",
         "mobile": "06 12345678", "bsn": None, "city": "Utrecht"},
        {"number": "1002", "name": "J. Jansen", "bsn": "111222333", "branch": "Utrecht", "email": "j@example.nl"},
        {"number": "1003", "name": "Fout BV", "bsn": "123456789", "postcode": "12345"},
        {"number": "", "name": "Zonder nummer"},
    ]
    first = portal.rpc.identity.upsert_clients(firm.admin_principal, rows, group["id"], 77)
    assert (first["created"], first["updated"], first["unchanged"], first["invalid"]) == (2, 0, 0, 2)
    bad = {e["index"]: e["fields"] for e in first["errors"]}
    assert set(bad[2]) == {"bsn", "postcode"} and "number" in bad[3]
    korst = portal.rpc.identity.get_client(firm.admin_principal, first["ids"]["1001"])
    assert korst["kvk"] == "01234567" and korst["postcode"] == "1234 AB" and korst["mobile"] == "+31612345678"
    assert korst["group_id"] == group["id"] and korst["branch_id"] == firm.branch_ids[0]
    jansen_id = first["ids"]["1002"]
    with db_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT bsn_encrypted, branch_id FROM identity.clients WHERE id = :i"),
                           {"i": jansen_id}).one()
    assert b"111222333" not in bytes(row.bsn_encrypted)  # stored encrypted
    assert row.branch_id == firm.branch_ids[1]

    again = portal.rpc.identity.upsert_clients(firm.admin_principal, rows[:2], group["id"], 78)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)

    # empty cells never erase; a changed value updates; the group is only for new clients
    changed = portal.rpc.identity.upsert_clients(firm.admin_principal, [
        {"number": "1001", "name": "Bakkerij De Korst BV", "kvk": "", "city": "Zeist", "mobile": None}], None, 79)
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 0)
    korst = portal.rpc.identity.get_client(firm.admin_principal, first["ids"]["1001"])
    assert korst["city"] == "Zeist" and korst["kvk"] == "01234567" and korst["mobile"] == "+31612345678"
    assert korst["group_id"] == group["id"]

    with db_engine.connect() as conn:
        batches = [r.payload["data"] for r in conn.execute(sa.text(
            "SELECT payload FROM identity.outbox WHERE event_type = 'clients_imported' ORDER BY id"))
            if r.payload["data"]["firm_id"] == korst["firm_id"]]
    # one event per batch that changed something (the unchanged re-run sent none)
    assert [(b["import_id"], len(b["created"]), len(b["updated"])) for b in batches] == [(77, 2, 0), (79, 0, 1)]
    assert batches[1]["updated"] == [{"client_id": first["ids"]["1001"], "branch_id": korst["branch_id"],
                                      "number": "1001", "name": "Bakkerij De Korst BV"}]


def test_upsert_by_branch_staff_cannot_touch_other_branch(portal):
    firm = Firm(portal)
    other = firm.client(1, number="X-9")
    branch_a = firm.staff(branch_index=0)
    result = portal.rpc.identity.upsert_clients(branch_a["principal"], [
        {"number": "X-9", "name": "Overgenomen"}, {"number": "N-1", "name": "Nieuw", "branch": "Utrecht"},
        {"number": "N-2", "name": "Nieuw in eigen vestiging"}], None, None)
    assert result["created"] == 1 and result["invalid"] == 2
    assert portal.rpc.identity.get_client(firm.admin_principal, other["id"])["name"] == other["name"]
    created = portal.rpc.identity.get_client(branch_a["principal"], result["ids"]["N-2"])
    assert created["branch_id"] == firm.branch_ids[0]


def test_client_users_lists_links_with_superuser_flag(portal, db_engine):
    firm = Firm(portal)
    client = firm.client(0)
    boss = db_client_user(db_engine, firm.id, client["id"], superuser=True, mobile="+31612345678")
    clerk = db_client_user(db_engine, firm.id, client["id"], superuser=False)
    listed = portal.rpc.identity.client_users(firm.admin_principal, client["id"])
    assert {u["id"]: u["superuser"] for u in listed} == {boss["id"]: True, clerk["id"]: False}
    assert all(set(u) >= {"id", "name", "username", "confirmation", "login", "mobile", "superuser"} for u in listed)
    branch_b = firm.staff(branch_index=1)
    with pytest.raises(Exception) as err:
        portal.rpc.identity.client_users(branch_b["principal"], client["id"])
    assert error_name(err.value) == "NotFound"


def test_check_confirmation_pin_locks_after_ten_wrong_tries(portal, db_engine):
    from identity import pins
    from identity.models import User
    firm = Firm(portal)
    client = firm.client(0)
    user = db_client_user(db_engine, firm.id, client["id"])
    with db_engine.begin() as conn:  # a PIN as tokens/rights would set it (its clear value goes to letters)
        conn.execute(sa.update(User.__table__).where(User.__table__.c.id == user["id"])
                     .values(pin_hash=pins.hash_pin("482913")))
    assert portal.rpc.identity.check_confirmation(user["id"], "pin", "482913", None) is True
    for attempt in range(9):
        with pytest.raises(Exception) as err:
            portal.rpc.identity.check_confirmation(user["id"], "pin", "000000", None)
        assert error_name(err.value) == "WrongPin"
    with pytest.raises(Exception) as err:
        portal.rpc.identity.check_confirmation(user["id"], "pin", "000001", None)
    assert error_name(err.value) == "PinLocked"
    with pytest.raises(Exception) as err:  # even the right PIN no longer works
        portal.rpc.identity.check_confirmation(user["id"], "pin", "482913", None)
    assert error_name(err.value) == "PinLocked"
    with db_engine.connect() as conn:
        stored = conn.execute(sa.select(User.__table__.c.pin_hash).where(User.__table__.c.id == user["id"])).scalar()
    assert stored.startswith("$argon2id$") and "482913" not in stored


def test_confirmation_code_binding_single_use_and_five_tries(portal, db_engine):
    """The SMS code's rules, with the code read the way a phone would: from notify's outbox."""
    from identity import smscodes
    from identity.models import SmsChallenge, User
    firm = Firm(portal)
    client = firm.client(0)
    user = db_client_user(db_engine, firm.id, client["id"], mobile="+31612345678")
    with db_engine.begin() as conn:
        conn.execute(sa.update(User.__table__).where(User.__table__.c.id == user["id"])
                     .values(confirmation_method="sms"))
    binding = {"request_id": 41, "sha256": hashlib.sha256(b"jaarrekening").hexdigest()}
    other_binding = {"request_id": 42, "sha256": binding["sha256"]}

    # Write a known code the way smscodes.create does, so this test does not depend on notify's storage.
    from sqlalchemy.orm import Session
    with Session(db_engine) as session:
        u = session.get(User, user["id"])
        challenge, code = smscodes.create(session, u, "confirm", binding=smscodes.binding_digest(binding))
        session.commit()
        stored = session.get(SmsChallenge, challenge.id).code_hash
    assert code not in stored and len(code) == 6

    with pytest.raises(Exception) as err:  # bound to the request and document
        portal.rpc.identity.check_confirmation(user["id"], "sms", code, other_binding)
    assert error_name(err.value) == "CodeExpired"
    for _ in range(4):
        with pytest.raises(Exception) as err:
            portal.rpc.identity.check_confirmation(user["id"], "sms", "999999" if code != "999999" else "999998",
                                                   binding)
        assert error_name(err.value) == "WrongCode"
    assert portal.rpc.identity.check_confirmation(user["id"], "sms", code, binding) is True
    with pytest.raises(Exception) as err:  # single use
        portal.rpc.identity.check_confirmation(user["id"], "sms", code, binding)
    assert error_name(err.value) == "CodeExpired"

    with Session(db_engine) as session:
        challenge, code = smscodes.create(session, session.get(User, user["id"]), "confirm",
                                          binding=smscodes.binding_digest(binding))
        session.commit()
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(4):
        with pytest.raises(Exception):
            portal.rpc.identity.check_confirmation(user["id"], "sms", wrong, binding)
    with pytest.raises(Exception) as err:
        portal.rpc.identity.check_confirmation(user["id"], "sms", wrong, binding)
    assert error_name(err.value) == "CodeExpired"  # the fifth wrong try kills it
    with pytest.raises(Exception) as err:
        portal.rpc.identity.check_confirmation(user["id"], "sms", code, binding)
    assert error_name(err.value) == "CodeExpired"


def test_hostile_text_is_refused_per_row_and_per_request(portal):
    firm = Firm(portal)
    result = portal.rpc.identity.upsert_clients(firm.admin_principal, [
        {"number": "N-1", "name": "Nul\x00byte"}, {"number": "N-2", "name": "Gewoon"}], None, None)
    assert (result["created"], result["invalid"]) == (1, 1) and result["errors"][0]["index"] == 0
    answer = portal.api().post("/api/v1/activate", json={"username": "\x00", "activation_code": "0", "password": ""})
    assert answer.status_code in (400, 422) and answer.json()["error"]
    login = portal.api().post("/api/v1/session", json={"username": "a\x00b", "password": "x"})
    assert login.status_code in (400, 401, 422) and login.json()["error"]
    assert firm.admin.post("/api/v1/clients", json={"number": "\x00", "name": "x"}).status_code in (400, 422)
    # and directly over RPC, where no gateway filters first
    with pytest.raises(Exception) as err:
        portal.rpc.identity.activate({"username": "\x00", "activation_code": "0", "password": ""})
    assert error_name(err.value) == "Invalid"


def test_a_row_that_is_not_an_object_is_invalid_alone(portal):
    firm = Firm(portal)
    result = portal.rpc.identity.upsert_clients(firm.admin_principal, [
        {"number": "R-1", "name": "Een"}, ["R-2", "Twee"], "R-3", None, {"number": "R-4", "name": "Vier"}], None, None)
    assert (result["created"], result["invalid"]) == (2, 3)
    assert [e["index"] for e in result["errors"]] == [1, 2, 3]
    assert all("row" in e["fields"] for e in result["errors"])


def test_upsert_mixed_batch_writes_one_event_per_client_with_its_payload(portal, db_engine):
    firm = Firm(portal)
    first = portal.rpc.identity.upsert_clients(firm.admin_principal, [
        {"number": "M-1", "name": "Eerste BV"}, {"number": "M-2", "name": "Tweede BV"}], None, 1)
    with db_engine.connect() as conn:
        start = conn.execute(sa.text("SELECT max(id) FROM identity.outbox")).scalar()
    result = portal.rpc.identity.upsert_clients(firm.admin_principal, [
        {"number": "M-1", "name": "Eerste BV", "branch": "utrecht"},  # moved by branch name, any case
        {"number": "M-2", "name": "Tweede BV"},  # unchanged
        {"number": "M-3", "name": "Derde BV", "city": "Zwolle"},
        {"number": "M-3", "name": "Derde BV dubbel"},  # a duplicate in one batch is invalid
        {"number": "M-4", "name": "Vierde BV", "branch": "Nergens"}], None, 2)
    assert (result["created"], result["updated"], result["unchanged"], result["invalid"]) == (1, 1, 1, 2)
    assert {e["index"] for e in result["errors"]} == {3, 4}
    assert result["updated_ids"] == [first["ids"]["M-1"]] and result["unchanged_ids"] == [first["ids"]["M-2"]]
    assert result["created_ids"] == [result["ids"]["M-3"]]
    moved = portal.rpc.identity.get_client(firm.admin_principal, first["ids"]["M-1"])
    assert moved["branch_id"] == firm.branch_ids[1]
    derde = portal.rpc.identity.get_client(firm.admin_principal, result["ids"]["M-3"])
    assert derde["city"] == "Zwolle" and derde["branch_id"] == firm.branch_ids[0]
    with db_engine.connect() as conn:
        events = [(r.event_type, r.payload["data"]) for r in conn.execute(sa.text(
            "SELECT event_type, payload FROM identity.outbox WHERE id > :s ORDER BY id"), {"s": start})]
    assert events == [("clients_imported", {
        "firm_id": moved["firm_id"], "import_id": 2,
        "created": [{"client_id": derde["id"], "branch_id": firm.branch_ids[0], "number": "M-3", "name": "Derde BV"}],
        "updated": [{"client_id": moved["id"], "branch_id": firm.branch_ids[1], "number": "M-1",
                     "name": "Eerste BV"}]})]
