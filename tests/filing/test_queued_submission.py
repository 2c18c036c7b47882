"""A filing is on record before the KvK hears of it, and reaches the KvK exactly once: the channel is
called outside the transaction that records the filing, retried in the background when it is down,
given up on ("failed", with the reason) when it stays down, and asked for our stable submission
reference before any retry, so an answer lost after the KvK took it does not file twice."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from filing import filings
from filing.channels import DigipoortSimulator
from filing.exceptions import ChannelUnavailable
from filing.models import DigipoortSubmission, Filing, outbox, utcnow
from filing.service import FilingService
from tests.approval.helpers import World, wait_for
from tests.filing.test_filing import approved_accounts, with_kvk


class Outage:
    """The Digipoort simulator of the running filing service, switched off and on by the test."""

    def __init__(self, monkeypatch):
        self.down = True
        self.channel = FilingService.channel
        self.real_submit, self.real_find = self.channel.submit, self.channel.find
        self.calls = []
        monkeypatch.setattr(self.channel, "submit", self.submit)
        monkeypatch.setattr(self.channel, "find", self.find)

    def submit(self, session, **kwargs):
        self.calls.append(("submit", kwargs["submission_id"], self.down))
        if self.down:
            raise ChannelUnavailable("Digipoort is niet bereikbaar.")
        return self.real_submit(session, **kwargs)

    def find(self, session, submission_id):
        self.calls.append(("find", submission_id, self.down))
        if self.down:
            raise ChannelUnavailable("Digipoort is niet bereikbaar.")
        return self.real_find(session, submission_id)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("AKKOORD_FILING_RETRY_BASE", "0.2")


def _world_with_accounts(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client("Bakkerij Jansen BV")
    with_kvk(w, client, "01234567")
    return w, client, approved_accounts(w, client)


def _status(w, filing_id, *statuses, **extra):
    def check():
        body = w.admin.get(f"/api/v1/filings/{filing_id}").json()
        ok = body["status"] in statuses and all(body.get(k, 0) >= v for k, v in extra.items())
        return body if ok else None
    return wait_for(check, timeout=30)


def _kvk_side(db_engine, filing_id):
    """What 'the KvK' received for this filing (its submission reference), and our row."""
    with Session(db_engine, expire_on_commit=False) as session:
        filing = session.get(Filing, filing_id)
        filing.pdf  # deferred: loaded while the session is open
        rows = session.scalars(sa.select(DigipoortSubmission)
                               .where(DigipoortSubmission.submission_id == filing.submission_id)).all()
        return filing, rows


def _events(db_engine, filing_id):
    with db_engine.connect() as conn:
        payloads = conn.execute(sa.select(outbox.c.payload)).scalars().all()
    return [p["event_type"] for p in payloads if p["data"]["filing_id"] == filing_id]


def test_channel_down_at_first_the_filing_is_queued_and_submitted_when_it_is_back(
        approval_portal, fake_twilio, db_engine, monkeypatch, fast_retries):
    w, client, request_id = _world_with_accounts(approval_portal, fake_twilio)
    outage = Outage(monkeypatch)

    filed = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert filed.status_code == 202, filed.text
    filing = filed.json()
    assert filing["status"] == "queued" and filing["reference"] is None
    assert filing["status_label"] == "In de wachtrij voor de KvK" and "niet bereikbaar" in filing["message"]
    # on record although the channel never took it, and a queued filing counts as live
    again = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert again.status_code == 409 and again.json()["details"]["filing_id"] == filing["id"], again.text

    _status(w, filing["id"], "queued", attempts=3)  # retried in the background while down
    outage.down = False
    done = _status(w, filing["id"], "accepted")
    assert done["reference"].startswith("DP-") and done["message"] == "Ontvangen en gedeponeerd bij de KvK."
    row, received = _kvk_side(db_engine, filing["id"])
    assert [r.reference for r in received] == [done["reference"]]
    assert row.pdf is None and row.lease_until is None  # the PDF is not kept once the KvK has it
    assert _events(db_engine, filing["id"]).count("filing_submitted") == 1


def test_channel_failing_persistently_ends_failed_with_a_reason(
        approval_portal, fake_twilio, db_engine, monkeypatch, fast_retries):
    monkeypatch.setenv("AKKOORD_FILING_MAX_ATTEMPTS", "3")
    w, client, request_id = _world_with_accounts(approval_portal, fake_twilio)
    outage = Outage(monkeypatch)

    filing = w.admin.post("/api/v1/filings", json={"approval_id": request_id}).json()
    failed = _status(w, filing["id"], "failed")
    assert failed["status_label"] == "Niet verstuurd" and failed["attempts"] == 3
    assert "na 3 pogingen niet bereikbaar" in failed["message"] and "opnieuw" in failed["message"]
    assert failed["reference"] is None and _kvk_side(db_engine, filing["id"])[1] == []
    assert "filing_failed" in _events(db_engine, filing["id"])
    listed = w.admin.get("/api/v1/filings", params={"status": "failed", "client_id": client["id"]}).json()
    assert [f["id"] for f in listed["items"]] == [filing["id"]]

    # a failed filing never reached the KvK: it may be filed again once the channel is back
    outage.down = False
    again = w.admin.post("/api/v1/filings", json={"approval_id": request_id})
    assert again.status_code == 202 and again.json()["status"] == "submitted", again.text


def test_an_answer_lost_after_the_kvk_took_it_does_not_file_twice(
        approval_portal, fake_twilio, db_engine, monkeypatch, fast_retries):
    w, client, request_id = _world_with_accounts(approval_portal, fake_twilio)
    channel = FilingService.channel
    real_submit, taken = channel.submit, []

    def accepted_then_connection_lost(session, **kwargs):
        reference = real_submit(session, **kwargs)  # the KvK has it ...
        taken.append(reference)
        if len(taken) == 1:
            raise ConnectionResetError("verbinding verbroken")  # ... but its answer never reaches us
        return reference

    monkeypatch.setattr(channel, "submit", accepted_then_connection_lost)
    filing = w.admin.post("/api/v1/filings", json={"approval_id": request_id}).json()
    assert filing["status"] == "queued" and filing["reference"] is None

    done = _status(w, filing["id"], "submitted", "accepted")
    row, received = _kvk_side(db_engine, filing["id"])
    assert [r.reference for r in received] == [taken[0]] == [done["reference"]]
    assert len(taken) == 1  # the retry asked the channel first and did not deliver again
    assert row.outcome_unknown is False


def test_a_worker_that_died_after_the_kvk_took_it_is_finished_without_a_second_filing(
        approval_portal, fake_twilio, db_engine, monkeypatch, fast_retries):
    w, client, request_id = _world_with_accounts(approval_portal, fake_twilio)
    outage = Outage(monkeypatch)
    filing = w.admin.post("/api/v1/filings", json={"approval_id": request_id}).json()
    assert filing["status"] == "queued"

    # Another replica leased it, delivered it to the KvK and died before recording anything.
    with Session(db_engine) as session:
        row = session.get(Filing, filing["id"])
        submission_id = row.submission_id
        reference = DigipoortSimulator().submit(session, submission_id=submission_id, kvk=row.kvk, sha256=row.sha256,
                                                   pdf=row.pdf)
        row.lease_until = utcnow() + dt.timedelta(seconds=2)
        session.commit()
    outage.down = False

    done = _status(w, filing["id"], "submitted", "accepted")
    assert done["reference"] == reference
    assert [r.reference for r in _kvk_side(db_engine, filing["id"])[1]] == [reference]
    # the retry asked the KvK for our reference and found it: nothing was delivered again
    assert ("find", submission_id, False) in outage.calls
    assert ("submit", submission_id, False) not in outage.calls


def test_the_simulator_files_a_submission_reference_once(db_engine):
    channel, submission_id = DigipoortSimulator(delay_seconds=0), f"AKK-{uuid.uuid4().hex}"
    with Session(db_engine) as session:
        assert channel.find(session, submission_id) is None
        first = channel.submit(session, submission_id=submission_id, kvk="01234567", sha256="0" * 64, pdf=b"%PDF-1")
        session.rollback()  # our transaction failing does not undo what the KvK received
        second = channel.submit(session, submission_id=submission_id, kvk="01234567", sha256="0" * 64, pdf=b"%PDF-1")
        assert first == second == channel.find(session, submission_id)
        assert session.scalar(sa.select(sa.func.count()).select_from(DigipoortSubmission)
                              .where(DigipoortSubmission.submission_id == submission_id)) == 1


def _queued(session, channel_name, n=2):
    now = utcnow() - dt.timedelta(seconds=1)
    rows = [Filing(firm_id=1, branch_id=None, client_id=1, client_name="Test BV", kvk="01234567",
                   approval_id=10**9 + i, sha256="0" * 64, channel=channel_name, status="queued",
                   submission_id=f"AKK-{uuid.uuid4().hex}", attempts=1, next_attempt_at=now, created_by=1,
                   created_at=now, updated_at=now) for i in range(n)]
    session.add_all(rows)
    session.commit()
    return {r.id for r in rows}


def test_two_replicas_do_not_claim_the_same_queued_filing(db_engine):
    channel_name = f"test-{uuid.uuid4().hex[:20]}"  # no running service submits through this channel
    with Session(db_engine) as setup:
        ids = _queued(setup, channel_name)
    with Session(db_engine) as one, Session(db_engine) as two:
        assert set(filings.claim_due(one, channel_name)) == ids
        assert filings.claim_due(two, channel_name) == []  # locked by the first replica's claim
        one.commit()
        two.rollback()
        assert filings.claim_due(two, channel_name) == []  # leased to the first replica
        two.rollback()
        one.execute(sa.update(Filing).where(Filing.id.in_(ids)).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
        one.commit()
        assert set(filings.claim_due(two, channel_name)) == ids  # the first replica died: its lease ran out
        two.rollback()
