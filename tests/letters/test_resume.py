"""A batch whose renderer died (lease expired) is taken over and rendered from the start."""
import base64
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from chassis.principal import Principal
from letters import batches
from letters.models import Batch, PdfChunk
from tests.letters.helpers import letter, pdf_pages, staff, wait_done


def test_abandoned_batch_is_taken_over(portal, db_engine):
    firm = portal.create_firm(branches=["Amsterdam"])
    principal = staff(firm["firm_id"], firm["branch_ids"][0])
    letters = [letter(i, f"{2000 + i} CD") for i in range(30)]
    # what a renderer that was killed mid-way leaves behind: status rendering, a lease that
    # ran out, a half-written PDF chunk
    with Session(db_engine) as session:
        created = batches.create(session, Principal.load(principal), {"kind": "pin", "letters": letters,
                                                                      "branch_id": firm["branch_ids"][0]})
        batch = session.get(Batch, created["batch_id"])
        batch.status, batch.lease_token, batch.attempts, batch.done = "rendering", "dead-renderer", 1, 12
        batch.lease_until = dt.datetime.utcnow() - dt.timedelta(seconds=1)
        session.add(PdfChunk(batch_id=batch.id, seq=0, data=b"half a pdf from the dead renderer"))
        session.commit()
    status = wait_done(lambda: portal.rpc.letters.batch_status(principal=principal, batch_id=created["batch_id"]),
                       timeout=60)
    assert status["status"] == "done" and status["done"] == 30
    pdf = portal.rpc.letters.batch_pdf(principal=principal, batch_id=created["batch_id"])
    pages = pdf_pages(base64.b64decode(pdf["pdf_base64"]))
    page_of = {p["letter"]: p["first_page"] for p in status["pages"]}
    assert len(pages) == 30
    for i, data in enumerate(letters):
        assert f"PIN-code: {data['secret']}" in pages[page_of[i] - 1]
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT attempts FROM letters.batches WHERE id = :b"),
                            {"b": created["batch_id"]}).scalar() == 2


def test_stopping_the_service_gives_the_batch_back_and_a_new_process_finishes_it(portal, db_engine):
    from nameko.containers import ServiceContainer

    from letters.service import LettersService
    from tests.letters.helpers import container

    firm = portal.create_firm(branches=["Amsterdam"])
    principal = staff(firm["firm_id"], firm["branch_ids"][0])
    letters = [letter(i, f"{3000 + i} EF") for i in range(1200)]
    created = portal.rpc.letters.create_batch(principal=principal, payload={"kind": "pin", "letters": letters})
    batch_id = created["batch_id"]

    def state():
        with db_engine.connect() as conn:
            return conn.execute(sa.text("SELECT status, done, lease_token FROM letters.batches WHERE id = :b"),
                                {"b": batch_id}).one()

    import time
    deadline = time.monotonic() + 120
    while not (state().status == "rendering" and state().done > 0):
        assert time.monotonic() < deadline and state().status != "done", state()
        time.sleep(0.05)
    container(portal, "letters").stop()  # graceful: the render worker lets go of the batch
    after_stop = state()
    assert after_stop.status == "queued" and after_stop.lease_token is None, after_stop
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM letters.pdf_chunks WHERE batch_id = :b"),
                            {"b": batch_id}).scalar() == 0

    restarted = ServiceContainer(LettersService)
    restarted.start()
    try:
        status = wait_done(lambda: portal.rpc.letters.batch_status(principal=principal, batch_id=batch_id),
                           timeout=300)
        assert status["status"] == "done" and status["done"] == 1200
        pdf = portal.rpc.letters.batch_pdf(principal=principal, batch_id=batch_id)
        pages = pdf_pages(base64.b64decode(pdf["pdf_base64"]))
        page_of = {p["letter"]: p["first_page"] for p in status["pages"]}
        assert len(pages) == 1200
        for i in (0, 599, 1199):
            assert f"PIN-code: {letters[i]['secret']}" in pages[page_of[i] - 1]
    finally:
        restarted.stop()


def test_a_render_that_crashes_midway_is_retried_and_finishes(portal, db_engine, monkeypatch):
    """A passing fault (the database connection dropped, a worker error) halfway a batch must not
    throw the PINs away: the batch goes back to the queue and is rendered again from the start."""
    from letters.layout import LetterPainter

    crashes = []

    class FlakyPainter(LetterPainter):
        def draw(self, letter, page_number):
            if page_number == 5 and not crashes:
                crashes.append(page_number)
                raise ConnectionError("database connection lost mid-render")
            return super().draw(letter, page_number)

    monkeypatch.setattr(batches, "LetterPainter", FlakyPainter)
    monkeypatch.setattr(batches, "RETRY_SECONDS", 0.5, raising=False)
    firm = portal.create_firm(branches=["Amsterdam"])
    principal = staff(firm["firm_id"], firm["branch_ids"][0])
    letters = [letter(i, f"{4000 + i} GH") for i in range(12)]
    created = portal.rpc.letters.create_batch(principal=principal, payload={"kind": "pin", "letters": letters})
    status = wait_done(lambda: portal.rpc.letters.batch_status(principal=principal, batch_id=created["batch_id"]),
                       timeout=60)
    assert crashes == [5]
    assert status["status"] == "done" and status["done"] == 12, status
    pdf = portal.rpc.letters.batch_pdf(principal=principal, batch_id=created["batch_id"])
    pages = pdf_pages(base64.b64decode(pdf["pdf_base64"]))
    page_of = {p["letter"]: p["first_page"] for p in status["pages"]}
    assert len(pages) == 12
    for i, data in enumerate(letters):
        assert f"PIN-code: {data['secret']}" in pages[page_of[i] - 1]


def test_a_batch_that_keeps_crashing_fails_after_the_last_attempt(portal, db_engine, monkeypatch):
    from letters.layout import LetterPainter

    class BrokenPainter(LetterPainter):
        def draw(self, letter, page_number):
            raise RuntimeError("always")

    monkeypatch.setattr(batches, "LetterPainter", BrokenPainter)
    monkeypatch.setattr(batches, "RETRY_SECONDS", 0.1, raising=False)
    firm = portal.create_firm(branches=["Amsterdam"])
    principal = staff(firm["firm_id"], firm["branch_ids"][0])
    created = portal.rpc.letters.create_batch(principal=principal, payload={"kind": "pin",
                                                                            "letters": [letter(0, "1011 AB")]})
    status = wait_done(lambda: portal.rpc.letters.batch_status(principal=principal, batch_id=created["batch_id"]),
                       timeout=60)
    assert status["status"] == "failed" and status["error"]
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT attempts FROM letters.batches WHERE id = :b"),
                            {"b": created["batch_id"]}).scalar() == batches.MAX_ATTEMPTS
        assert conn.execute(sa.text("SELECT count(*) FROM letters.letter_blocks WHERE batch_id = :b"),
                            {"b": created["batch_id"]}).scalar() == 0
