"""A service stopping (SIGTERM, a rolling update) during a long commit gives the job back after the batch in
flight instead of finishing every batch first; another process (or the restarted one) takes it over."""
import time

import eventlet
import sqlalchemy as sa
from nameko.containers import ServiceContainer

from chassis.runner import service_class
from importer import imports, jobs
from tests.importer.files import csv_bytes


def test_stopping_during_a_commit_gives_the_job_back(wizard, db_engine, monkeypatch):
    monkeypatch.setattr(imports, "COMMIT_BATCH", 1)
    monkeypatch.setattr(jobs, "COMMIT_CONCURRENCY", 1)
    sent = []

    def slow(import_id, batch):
        sent.append(batch)
        eventlet.sleep(0.3)

    monkeypatch.setattr(jobs, "after_batch_hook", slow)
    rows = [[f"{950 + i:06d}", f"Cliënt {i}", "", "", "", "", ""] for i in range(20)]
    upload = wizard.upload("lang.csv", csv_bytes(rows))
    wizard.wait(upload["id"])
    wizard.commit(upload["id"])
    deadline = time.monotonic() + 30
    while len(sent) < 2:
        assert time.monotonic() < deadline
        eventlet.sleep(0.05)

    wizard.portal.runner.service_map["importer"].stop()
    with db_engine.connect() as conn:
        record = conn.execute(sa.text("SELECT status, lease_owner FROM importer.imports WHERE id = :id"),
                              {"id": upload["id"]}).one()
    assert record.status == "committing" and record.lease_owner is None, record  # given back, not run to the end
    assert len(sent) < len(rows)

    importer = ServiceContainer(service_class("importer"))  # a new process takes the job over at once
    importer.start()
    try:
        done = wizard.wait(upload["id"], ("done", "failed"), timeout=60)
        assert done["status"] == "done" and done["progress"] == {"done": 20, "total": 20}
        assert done["result"]["created"] == 20
        assert sorted(sent) == list(range(20))  # every batch once
    finally:
        importer.stop()
