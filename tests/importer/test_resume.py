"""A commit that dies half-way resumes after a restart: done batches are skipped, nothing is duplicated."""
import time

import eventlet
import sqlalchemy as sa
from nameko import config as nameko_config
from nameko.testing.utils import find_free_port

from importer import imports, jobs
from tests.fixtures import Portal
from tests.importer.conftest import Wizard
from tests.importer.files import csv_bytes


class Crash(Exception):
    pass


def test_commit_resumes_after_a_crash_and_restart(service_config, db_engine, monkeypatch):
    monkeypatch.setattr(imports, "COMMIT_BATCH", 2)
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 1.0)
    monkeypatch.setattr(jobs, "COMMIT_CONCURRENCY", 2)
    sent = []

    def crash_on_second_batch(import_id, batch):
        sent.append(batch)
        if batch == 1 and sent.count(1) == 1:
            raise Crash("simulated crash after identity applied batch 1")

    monkeypatch.setattr(jobs, "after_batch_hook", crash_on_second_batch)
    rows = [[f"{i:06d}", f"Cliënt {i}", "", "", "Utrecht", "", ""] for i in range(1, 8)]

    portal = Portal(service_config).start()
    try:
        wizard = Wizard(portal)
        upload = wizard.upload("groot.csv", csv_bytes(rows))
        assert wizard.wait(upload["id"])["summary"]["new"] == 7
        wizard.commit(upload["id"])
        deadline = time.monotonic() + 30
        while 1 not in sent:
            assert time.monotonic() < deadline
            eventlet.sleep(0.05)
        eventlet.sleep(0.2)
    finally:
        portal.kill()  # the whole process dies mid-commit

    with db_engine.connect() as conn:
        record = conn.execute(sa.text("SELECT status, progress_done FROM importer.imports WHERE id = :id"),
                              {"id": upload["id"]}).one()
        batches = conn.scalars(sa.text("SELECT batch FROM importer.import_batches WHERE import_id = :id"),
                               {"id": upload["id"]}).all()
        recorded_rows = conn.scalar(sa.text("SELECT coalesce(sum(rows), 0) FROM importer.import_batches "
                                            "WHERE import_id = :id"), {"id": upload["id"]})
    # the job died: still committing, batch 1 applied by identity but not recorded
    assert record.status == "committing" and 1 not in batches
    assert record.progress_done == recorded_rows
    recorded_before = set(batches)

    # restart (on a fresh HTTP port: the killed server may still hold the old one)
    values = dict(service_config, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}")
    with nameko_config.patch(values):
        _resumed(values, wizard, upload, sent, db_engine, recorded_before)


def _resumed(values, wizard, upload, sent, db_engine, recorded_before):
    portal = Portal(values).start()  # the job is claimed again once its lease has expired
    try:
        api = portal.login(wizard.firm["admin"]["username"], wizard.firm["admin"]["password"])
        wizard.api = api
        done = wizard.wait(upload["id"], ("done", "failed"), timeout=60)
        assert done["status"] == "done", done
        assert done["progress"] == {"done": 7, "total": 7}
        # batches recorded before the crash were never sent again; batch 1 was sent again once
        assert sent.count(1) == 2
        assert all(sent.count(b) == 1 for b in recorded_before)
        assert set(sent) == {0, 1, 2, 3}
        with db_engine.connect() as conn:
            batches = conn.scalars(sa.text("SELECT batch FROM importer.import_batches WHERE import_id = :id "
                                           "ORDER BY batch"), {"id": upload["id"]}).all()
        assert batches == [0, 1, 2, 3]
        clients = wizard.clients()
        assert sorted(clients) == [f"{i:06d}" for i in range(1, 8)]
        # identity already held what was resent: idempotent by number, reported unchanged, never twice
        assert done["result"]["created"] + done["result"]["unchanged"] == 7
        assert done["result"]["unchanged"] >= 2  # at least batch 1 (2 rows) came back as already there
    finally:
        portal.stop()


def test_a_job_that_keeps_failing_is_given_up_with_a_message(portal, monkeypatch):
    from importer import preview

    def broken(*_args, **_kwargs):
        raise RuntimeError("bug in the preview")

    monkeypatch.setattr(preview, "classify", broken)
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 0.5)
    monkeypatch.setattr(jobs, "MAX_ATTEMPTS", 2)
    wizard = Wizard(portal)
    upload = wizard.upload("k.csv", csv_bytes([["000801", "A", "", "", "", "", ""]]))
    status = wizard.wait(upload["id"], ("failed", "ready"), timeout=60)
    assert status["status"] == "failed"
    assert "herhaaldelijk mislukt" in status["error"]["message"] and status["error"]["attempts"] == 3


def test_a_commit_that_keeps_failing_is_given_up_though_its_lease_is_kept_alive(wizard, monkeypatch):
    """Our own error in every commit attempt (identity answers fine) still counts: given up after MAX_ATTEMPTS."""
    rows = [["000811", "A", "", "", "", "", ""], ["000812", "B", "", "", "", "", ""]]
    upload = wizard.upload("k.csv", csv_bytes(rows))
    assert wizard.wait(upload["id"])["status"] == "ready"

    def broken(import_id, batch):
        raise RuntimeError("bug after the batch")

    monkeypatch.setattr(jobs, "after_batch_hook", broken)
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 0.5)
    monkeypatch.setattr(jobs, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(jobs, "MAX_ATTEMPTS", 2)
    wizard.commit(upload["id"])
    status = wizard.wait(upload["id"], ("failed", "done"), timeout=60)
    assert status["status"] == "failed"
    assert "doorvoeren van deze import is herhaaldelijk mislukt" in status["error"]["message"]
    assert status["error"]["attempts"] == 3
