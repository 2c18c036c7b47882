"""Rotating AKKOORD_SECRET_KEY through the whole portal: with the old key in AKKOORD_SECRET_KEY_PREVIOUS
everything stored under it still works, `akkoord rotate-secret-key` re-encrypts what can be re-encrypted,
and afterwards the new key alone reads it all. PINs and activation codes only their holders know: a PIN
moves to the new key when it is used, the command counts those still under the old one."""
import base64
import hashlib
import hmac
import io
import os
import random
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from tests.chassis.test_key_rotation import keys as new_keys, use as use_keys
from tests.fixtures import ADMIN_URL
from tests.identity.helpers import Firm, code_in, db_client_user, error_name, letter_secrets, sms_to
from tests.identity.test_users import activate, new_client_user
from tests.importer.files import csv_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BSN = "111222333"


@pytest.fixture(scope="module")
def database_url():
    """A database of this module's own: the command re-encrypts EVERYTHING in the database it runs on,
    which must not be the other tests' shared one (their data would end up under this test's key)."""
    from chassis.db import get_engine, normalise_url
    from chassis.migrations import upgrade_all

    name = f"akkoord_test_rotation_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(normalise_url(ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    before = os.environ.get("AKKOORD_DATABASE_URL")
    os.environ["AKKOORD_DATABASE_URL"] = url
    try:
        upgrade_all(url)
        yield url
    finally:
        if before is None:
            os.environ.pop("AKKOORD_DATABASE_URL", None)
        else:
            os.environ["AKKOORD_DATABASE_URL"] = before
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def db_engine(database_url):
    from chassis.db import get_engine
    return get_engine(database_url)



def mobile() -> str:
    return "+3161" + "".join(random.choice("0123456789") for _ in range(7))


def pin_row(db_engine, user_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.text("SELECT pin_hash, pin_failures FROM identity.users WHERE id = :u"),
                            {"u": user_id}).one()


def pepper(secret: str, pin: str) -> str:
    """A PIN peppered with the key derived from ``secret``, computed here rather than through identity's own
    (cached) keys, so the test sees which key really made a hash."""
    key = hashlib.sha256(secret.encode() + b"\x00akkoord\x00identity-keyed").digest()
    return hmac.new(key, f"pin\x00{pin}".encode(), hashlib.sha256).hexdigest()


def verifies_under(secret: str, stored: str, pin: str) -> bool:
    from chassis import secrets
    return secrets.verify_code(stored, pepper(secret, pin))


def issue_pins(firm, user_ids) -> int:
    answer = firm.admin.post("/api/v1/tokens", json={"user_ids": list(user_ids), "confirmation": "pin",
                                                     "login": "password"})
    assert answer.status_code == 200, answer.text
    return answer.json()["letter_batch_id"]


def new_unactivated_user(portal, firm, client_id):
    created = firm.admin.post(f"/api/v1/clients/{client_id}/users", json={"name": "Nog Niet Actief"})
    assert created.status_code == 201, created.text
    data = created.json()
    return data, letter_secrets(portal, firm.admin_principal, data["letter_batch_id"])[data["username"]]


def upload_pending(portal, principal, content: bytes) -> int:
    """An upload whose chunk is stored (encrypted) but not finished yet."""
    started = portal.rpc.importer.start_upload(principal, {"filename": "klanten.csv", "size": len(content)})
    portal.rpc.importer.upload_chunk(principal, {"import_id": started["id"], "seq": 0,
                                                 "data": base64.b64encode(content).decode()})
    return started["id"]


def wait_import(api, import_id, statuses=("ready", "done", "failed"), timeout=60):
    import time
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/api/v1/imports/{import_id}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def import_file(number):
    return csv_bytes([(number, "Geïmporteerd BV", BSN)], headers=["Cliëntnummer", "Naam", "BSN"])


def bsn_of(api, client_id):
    answer = api.get(f"/api/v1/clients/{client_id}", params={"show": "bsn"})
    assert answer.status_code == 200, answer.text
    return answer.json()["bsn"]


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_rotation_keeps_everything_working_and_the_command_moves_it_to_the_new_key(portal, db_engine,
                                                                                   monkeypatch):
    a, b = new_keys()
    use_keys(monkeypatch, a)

    # -- under key A: a client with a BSN, PINs, activation codes, an SMS code, mail, imports ----------
    firm = Firm(portal)
    client = firm.client(0, bsn=BSN)
    number = mobile()
    user, user_api = new_client_user(portal, firm, firm.admin, client["id"])
    idle, _idle_api = new_client_user(portal, firm, firm.admin, client["id"], name="Ida Nooit")
    pin_batch = issue_pins(firm, [user["id"], idle["id"]])
    pins = letter_secrets(portal, firm.admin_principal, pin_batch)
    pin, idle_pin = pins[user["username"]], pins[idle["username"]]
    late, late_code = new_unactivated_user(portal, firm, client["id"])        # activates after the switch
    never, never_code = new_unactivated_user(portal, firm, client["id"])    # keeps its code: counted

    sms_user, _sms_api = new_client_user(portal, firm, firm.admin, client["id"], mobile=number, name="Sem Sms")
    switched = firm.admin.post("/api/v1/tokens", json={"user_ids": [sms_user["id"]], "confirmation": "sms",
                                                       "login": "password"})
    assert switched.status_code == 200, switched.text
    binding = {"request_id": 7, "sha256": hashlib.sha256(b"jaarrekening 2024").hexdigest()}
    assert portal.rpc.identity.send_confirmation_code(sms_user["id"], binding)["sent"] is True
    sms_code = code_in(sms_to(portal, number)[0])

    mail_key = f"test:{uuid.uuid4().hex}"
    portal.rpc.notify.send_email(payload={"firm_id": firm.id, "to": "els@klant.example", "key": mail_key,
                                          "subject": "Activering", "text": "Uw code: QWER-TYUI",
                                          "html": "<p>Uw code: QWER-TYUI</p>"})

    preview = firm.admin.post("/api/v1/imports", files={"file": ("klanten.csv", import_file("IMP-1"))})
    assert preview.status_code == 202, preview.text
    assert wait_import(firm.admin, preview.json()["id"])["status"] == "ready"
    pending_upload = upload_pending(portal, firm.admin_principal, import_file("IMP-2"))

    # -- roll with B as the key and A as the previous one: everything under A still works ----------------
    use_keys(monkeypatch, b, previous=a)
    assert bsn_of(firm.admin, client["id"]) == BSN
    assert letter_secrets(portal, firm.admin_principal, pin_batch)[user["username"]] == pin  # PDF made under A
    rows = firm.admin.get(f"/api/v1/imports/{preview.json()['id']}/rows").json()["items"]
    assert [r["values"]["bsn"] for r in rows] == ["******333"]
    assert [m for m in portal.rpc.notify.dev_mail_outbox(limit=500) if m["subject"] == "Activering"
            and m["to"] == "els@klant.example"][0]["text"] == "Uw code: QWER-TYUI"

    before = pin_row(db_engine, user["id"]).pin_hash
    assert portal.rpc.identity.check_confirmation(user["id"], "pin", pin, None) is True
    after = pin_row(db_engine, user["id"])
    assert after.pin_hash != before and after.pin_failures == 0  # re-hashed under B as it was used
    assert portal.rpc.identity.check_confirmation(sms_user["id"], "sms", sms_code, binding) is True
    activate(portal, late["username"], late_code)
    newcomer, newcomer_code = new_unactivated_user(portal, firm, client["id"])  # issued under B: not counted

    assert verifies_under(b, after.pin_hash, pin) and not verifies_under(a, after.pin_hash, pin)
    idle_hash = pin_row(db_engine, idle["id"]).pin_hash
    assert verifies_under(a, idle_hash, idle_pin) and not verifies_under(b, idle_hash, idle_pin)

    # -- the command re-encrypts; what only holders know is counted ---------------------------------------
    from cli.key_rotation import rotate_all
    printed = io.StringIO()
    report = rotate_all(database_url=db_engine.url.render_as_string(hide_password=False), out=printed)
    assert "identity: 1 value re-encrypted" in printed.getvalue(), printed.getvalue()
    assert report["identity"].reencrypted == 1  # the client's BSN
    assert report["importer"].reencrypted == 2  # the preview row's sealed BSN and the pending upload's chunk
    assert report["notify"].reencrypted >= 3    # the SMS body, the mail's text and html
    assert report["letters"].reencrypted >= 1   # the PDFs' chunks
    assert all(r.unreadable == 0 for r in report.values())
    assert report["identity"].left_under_previous == {"pins": 1, "activation_codes": 1}  # idle's and never's

    env = dict(os.environ, AKKOORD_DATABASE_URL=db_engine.url.render_as_string(hide_password=False))
    again = run_cli("rotate-secret-key", env=env)
    assert again.returncode == 0, again.stderr
    for service in ("identity", "importer", "notify", "letters"):
        assert f"{service}: 0 values re-encrypted" in again.stdout, again.stdout
    assert "1 PIN" in again.stdout and "1 activation code" in again.stdout, again.stdout
    assert a not in again.stdout + again.stderr and b not in again.stdout + again.stderr

    # -- B alone: everything re-encrypted is readable ---------------------------------------------------------
    use_keys(monkeypatch, b)
    assert bsn_of(firm.admin, client["id"]) == BSN
    assert letter_secrets(portal, firm.admin_principal, pin_batch)[user["username"]] == pin
    assert any(m["text"] == "Uw code: QWER-TYUI" and "QWER-TYUI" in m["html"]
               for m in portal.rpc.notify.dev_mail_outbox(limit=500))
    assert any(sms_code in (m["body"] or "") for m in portal.rpc.notify.dev_sms_outbox(limit=500))
    rows = firm.admin.get(f"/api/v1/imports/{preview.json()['id']}/rows").json()["items"]
    assert [r["values"]["bsn"] for r in rows] == ["******333"]
    committed = firm.admin.post(f"/api/v1/imports/{preview.json()['id']}/commit", json={"rows": "all"})
    assert committed.status_code == 202, committed.text
    assert wait_import(firm.admin, preview.json()["id"], ("done", "failed"))["status"] == "done"
    finished = portal.rpc.importer.finish_upload(firm.admin_principal, pending_upload)
    assert finished["status"] == "parsing"
    assert wait_import(firm.admin, pending_upload)["status"] == "ready"
    imported = [c for c in firm.admin.get("/api/v1/clients", params={"q": "IMP-1"}).json()["items"]
                if c["number"] == "IMP-1"]
    assert len(imported) == 1
    assert bsn_of(firm.admin, imported[0]["id"]) == BSN
    assert portal.rpc.identity.check_confirmation(user["id"], "pin", pin, None) is True
    activate(portal, newcomer["username"], newcomer_code)
    # what the report counted indeed needs A: the unused PIN and the unused code no longer work
    with pytest.raises(Exception) as err:
        portal.rpc.identity.check_confirmation(idle["id"], "pin", idle_pin, None)
    assert error_name(err.value) == "WrongPin"
    refused = portal.api().post("/api/v1/activate", json={"username": never["username"],
                                                          "activation_code": never_code,
                                                          "password": "een lange zin die niemand raadt"})
    assert refused.json()["error"] == "invalid_activation", refused.text
    assert user_api.get("/api/v1/me").status_code == 200


def test_a_wrong_pin_with_two_keys_counts_one_failure(portal, db_engine, monkeypatch):
    """Whatever the number of keys tried, one wrong PIN is one failure; the right one resets and re-hashes."""
    from chassis import secrets
    from identity import pins
    from identity.models import User
    a, b = new_keys()
    use_keys(monkeypatch, a)
    firm = Firm(portal)
    client = firm.client(0)
    issued = db_client_user(db_engine, firm.id, client["id"])
    legacy = db_client_user(db_engine, firm.id, client["id"])
    users = User.__table__
    with db_engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.id == issued["id"]).values(pin_hash=pins.hash_pin("482913")))
        # a hash as releases before key rotation made it (nothing in it tells which key peppered it)
        conn.execute(sa.update(users).where(users.c.id == legacy["id"])
                     .values(pin_hash=secrets.hash_code(pepper(a, "482913"))))

    use_keys(monkeypatch, b, previous=a)
    for user in (issued, legacy):
        for attempt in (1, 2):
            with pytest.raises(Exception) as err:
                portal.rpc.identity.check_confirmation(user["id"], "pin", "000000", None)
            assert error_name(err.value) == "WrongPin"
            assert err.value.args[0] == "De PIN-code is onjuist."
            assert pin_row(db_engine, user["id"]).pin_failures == attempt
        assert portal.rpc.identity.check_confirmation(user["id"], "pin", "482913", None) is True
        row = pin_row(db_engine, user["id"])
        assert row.pin_failures == 0
        assert verifies_under(b, row.pin_hash, "482913") and not verifies_under(a, row.pin_hash, "482913")


def test_the_command_needs_the_key(db_engine):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKKOORD_SECRET_KEY")}
    env["AKKOORD_DATABASE_URL"] = db_engine.url.render_as_string(hide_password=False)
    answer = run_cli("rotate-secret-key", env=env)
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert "AKKOORD_SECRET_KEY" in answer.stderr and "Traceback" not in answer.stderr
