"""identity away (a deploy, a crash loop) while an import parses or commits: the import waits for it and then
finishes by itself. Its status stays pollable meanwhile and says what it waits for, the time away costs no
attempt (so it is never given up as 'herhaaldelijk mislukt'), the uploaded file is kept, and no client is made
twice. A job that outlives its lease is not handed out again while it runs."""
import time

import eventlet
import kombu
import sqlalchemy as sa
from nameko.containers import ServiceContainer

from chassis.runner import service_class
from importer import imports, jobs
from tests.fixtures import Portal
from tests.importer.conftest import Wizard
from tests.importer.files import csv_bytes

WAITING = "Wacht op de cliëntenadministratie"


def _job(db_engine, import_id):
    with db_engine.connect() as conn:
        record = conn.execute(sa.text("SELECT status, attempts, principal FROM importer.imports WHERE id = :id"),
                              {"id": import_id}).one()
        chunks = conn.scalar(sa.text("SELECT count(*) FROM importer.import_chunks WHERE import_id = :id"),
                             {"id": import_id})
        batches = conn.scalars(sa.text("SELECT batch FROM importer.import_batches WHERE import_id = :id "
                                       "ORDER BY batch"), {"id": import_id}).all()
    return record, chunks, batches


def _away_for_many_claims(portal, db_engine, claims, import_id, status, since, timeout=60):
    """Wait until the job was handed out more often than MAX_ATTEMPTS allows while identity is away;
    meanwhile the import's status is polled as a person's browser would (importer's RPC: the gateway
    needs identity to know who asks)."""
    deadline = time.monotonic() + timeout
    seen = None
    while claims.count(import_id) < since + jobs.MAX_ATTEMPTS + 2:
        record, chunks, _ = _job(db_engine, import_id)
        assert record.status == status, (record.status, seen)  # not given up ("herhaaldelijk mislukt")
        seen = portal.rpc.importer.import_status(principal=record.principal, import_id=import_id)
        assert seen["status"] == status
        assert time.monotonic() < deadline, (claims.count(import_id), seen)
        eventlet.sleep(0.05)
    record, chunks, _ = _job(db_engine, import_id)
    assert record.status == status
    assert record.attempts <= jobs.MAX_ATTEMPTS  # the time away cost no attempt
    seen = portal.rpc.importer.import_status(principal=record.principal, import_id=import_id)
    assert WAITING in (seen["progress"].get("message") or ""), seen
    assert seen["progress"]["waiting_for"] == "identity"
    return record, chunks


def _start_identity():
    container = ServiceContainer(service_class("identity"))
    container.start()
    return container


def test_an_import_waits_for_identity_and_then_finishes_by_itself(service_config, db_engine, monkeypatch):
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 0.6)
    monkeypatch.setattr(jobs, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(jobs, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(jobs, "PARSE_BATCH", 2)
    monkeypatch.setattr(imports, "COMMIT_BATCH", 2)
    monkeypatch.setattr(jobs, "COMMIT_CONCURRENCY", 1)
    # how long one identity call of a job may take, and the pause before trying again (read when the
    # importer starts, so set before the portal starts)
    monkeypatch.setattr(jobs, "IDENTITY_TIMEOUT", 1.0, raising=False)
    monkeypatch.setattr(jobs, "IDENTITY_RETRY_SECONDS", 0.2, raising=False)
    monkeypatch.setattr(jobs, "IDENTITY_RETRY_CAP", 0.5, raising=False)

    claims = []
    claim = jobs.claim

    def counted_claim(*args, **kwargs):
        job_id = claim(*args, **kwargs)
        if job_id is not None:
            claims.append(job_id)
        return job_id

    monkeypatch.setattr(jobs, "claim", counted_claim)

    portal = Portal(service_config).start()
    identity = portal.runner.service_map["identity"]
    restarted = []
    try:
        wizard = Wizard(portal)
        seed = wizard.upload("bestaand.csv", csv_bytes([["000201", "Bakkerij Aarts", "", "", "", "", ""],
                                                        ["000202", "Garage Bos", "", "", "", "", ""]]))
        assert wizard.wait(seed["id"])["status"] == "ready"
        wizard.commit(seed["id"])
        assert wizard.wait(seed["id"], ("done", "failed"))["status"] == "done"

        # identity stops while the import is parsing: after its first batch of rows is stored
        parse_stop = []
        store_rows = jobs.store_rows

        def store_then_stop_identity(session, import_id, records):
            store_rows(session, import_id, records)
            if not parse_stop:
                parse_stop.append(import_id)
                identity.stop()

        monkeypatch.setattr(jobs, "store_rows", store_then_stop_identity)
        rows = [["000201", "Bakkerij Aarts", "", "", "", "", ""],           # unchanged
                ["000202", "Garage Bos & Zn", "", "", "", "", ""],         # update
                ["000203", "Cliënt 3", "", "", "Utrecht", "", ""],         # new
                ["000204", "Cliënt 4", "", "", "", "", ""],                # new
                ["000203", "Cliënt 3 (tweede contact)", "", "", "", "", ""],  # repeated number: invalid
                ["000205", "Cliënt 5", "", "", "", "", ""],                # new
                ["000206", "Cliënt 6", "", "", "", "", ""]]                # new
        upload = wizard.upload("klanten.csv", csv_bytes(rows))
        import_id = upload["id"]
        deadline = time.monotonic() + 30
        while not parse_stop:
            assert time.monotonic() < deadline
            eventlet.sleep(0.05)
        assert parse_stop == [import_id]
        since = claims.count(import_id)

        record, chunks = _away_for_many_claims(portal, db_engine, claims, import_id, "parsing", since)
        assert chunks > 0  # the uploaded file is kept: nobody has to upload it again

        restarted.append(_start_identity())
        ready = wizard.wait(import_id, ("ready", "failed"), timeout=60)
        assert ready["status"] == "ready", ready
        assert ready["summary"] == {"new": 4, "update": 1, "unchanged": 1, "invalid": 1}
        assert ready["progress"] == {"done": 7, "total": 7}  # no waiting message once identity answered
        assert [r["row"] for r in wizard.rows(import_id, "invalid")] == [6]

        # identity goes away during the commit, this time with its queue gone too (never deployed in
        # this broker, or removed): the call fails at once instead of waiting out its deadline
        commit_stop = []

        def stop_identity_after_first_batch(job_id, batch):
            if job_id == import_id and not commit_stop:
                commit_stop.append(batch)
                restarted[-1].stop()
                with kombu.Connection(service_config["AMQP_URI"]) as conn:
                    conn.default_channel.queue_delete("rpc-identity")

        monkeypatch.setattr(jobs, "after_batch_hook", stop_identity_after_first_batch)
        wizard.commit(import_id)
        deadline = time.monotonic() + 30
        while not commit_stop:
            assert time.monotonic() < deadline
            eventlet.sleep(0.05)
        since = claims.count(import_id)
        _away_for_many_claims(portal, db_engine, claims, import_id, "committing", since)
        _, _, batches = _job(db_engine, import_id)
        assert batches == [0]  # the batch identity applied before it went is recorded, no other

        restarted.append(_start_identity())
        done = wizard.wait(import_id, ("done", "failed"), timeout=60)
        assert done["status"] == "done", done
        assert done["result"] == {"created": 4, "updated": 1, "unchanged": 0, "failed": 0}
        assert done["progress"] == {"done": 5, "total": 5}
        _, _, batches = _job(db_engine, import_id)
        assert batches == [0, 1, 2]

        response = wizard.api.get("/api/v1/clients", params={"per_page": 500})
        assert response.status_code == 200, response.text
        numbers = [c["number"] for c in response.json()["items"]]
        assert sorted(numbers) == ["000201", "000202", "000203", "000204", "000205", "000206"]  # each once
        assert {c["number"]: c["name"] for c in response.json()["items"]}["000202"] == "Garage Bos & Zn"
    finally:
        for container in restarted:
            container.stop()
        portal.stop()


def test_a_job_that_outlives_its_lease_is_not_run_twice(wizard, db_engine, monkeypatch):
    monkeypatch.setattr(imports, "COMMIT_BATCH", 1)
    monkeypatch.setattr(jobs, "COMMIT_CONCURRENCY", 1)
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 0.5)
    monkeypatch.setattr(jobs, "POLL_SECONDS", 0.1)
    sent = []

    def slow_first_batch(import_id, batch):
        sent.append(batch)
        if batch == 0:
            eventlet.sleep(2.0)  # several leases long: a large batch, identity busy

    rows = [[f"{300 + i:06d}", f"Cliënt {i}", "", "", "", "", ""] for i in range(3)]
    upload = wizard.upload("traag.csv", csv_bytes(rows))
    assert wizard.wait(upload["id"])["status"] == "ready"
    monkeypatch.setattr(jobs, "after_batch_hook", slow_first_batch)
    wizard.commit(upload["id"])
    done = wizard.wait(upload["id"], ("done", "failed"), timeout=60)
    assert done["status"] == "done", done
    assert sorted(sent) == [0, 1, 2]  # every batch sent once: the job was not handed out again meanwhile
    assert done["result"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    record, _, _ = _job(db_engine, upload["id"])
    assert record.attempts == 1


def test_waits_give_the_attempt_back_only_up_to_a_limit(db_engine, monkeypatch):
    """A deadline does not tell identity away from identity slow on a batch: after IDENTITY_MAX_WAITS waits in a
    row the attempt counts again, so MAX_ATTEMPTS ends a batch identity never finishes instead of re-sending it."""
    from sqlalchemy.orm import Session

    from importer.models import Import
    monkeypatch.setattr(jobs, "IDENTITY_MAX_WAITS", 2)
    with Session(db_engine) as session:
        record = Import(firm_id=1, user_id=1, principal={}, filename="k.csv", kind="csv", status="committing",
                        attempts=0, summary={})
        session.add(record)
        session.commit()
        import_id = record.id
        attempts = []
        for _ in range(4):
            session.execute(sa.update(Import).where(Import.id == import_id).values(
                lease_owner="me", attempts=Import.attempts + 1))  # what claim() does
            session.commit()
            jobs._wait_for_identity(session, import_id, "me", "upsert_clients: Unavailable")
            attempts.append(session.scalar(sa.select(Import.attempts).where(Import.id == import_id)))
        waiting = session.scalar(sa.select(Import.summary).where(Import.id == import_id))["waiting"]
    assert attempts == [0, 0, 1, 2]  # the first two waits cost nothing, later ones count
    assert waiting["waits"] == 4 and WAITING in waiting["message"]
