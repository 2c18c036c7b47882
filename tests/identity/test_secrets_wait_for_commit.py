"""A letter or mail that carries a secret goes out only once identity has committed the change that issued it.

identity hands the letters and the mail over inside its transaction (so a secret nobody can receive is never
issued); letters and notify hold them until identity's outbox confirms the commit. A change that fails after
the hand-over (here: the worker dies right after it, as a failed COMMIT would) never has its PIN letters
printed or its activation mail sent; they are discarded unsent after AKKOORD_UNCONFIRMED_HOURS."""
import datetime as dt
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from identity import mailing, printing
from letters import batches as letter_batches
from letters.models import Batch, LetterBlock
from notify import mail as notify_mail
from notify.models import EmailMessage
from tests.identity.helpers import Firm
from tests.letters.helpers import wait_done


class CommitFailed(Exception):
    pass


def _fail_after(monkeypatch, module, name):
    """The real hand-over, then the change fails before identity commits."""
    real = getattr(module, name)

    def handed_over_then_failed(*args, **kwargs):
        real(*args, **kwargs)
        raise CommitFailed("the database went away at COMMIT")

    monkeypatch.setattr(module, name, handed_over_then_failed)


def _batches(db_engine, firm_id):
    with Session(db_engine) as session:
        return {b.id: b.status for b in session.scalars(sa.select(Batch).where(Batch.firm_id == firm_id))}


def _later(hours):
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=hours)


def test_pin_letters_of_a_change_that_failed_are_never_printed(portal, db_engine, monkeypatch):
    firm = Firm(portal)
    client = firm.client(0)
    user = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Pien Klant"}).json()
    activation_batch = user["letter_batch_id"]
    assert wait_done(lambda: firm.admin.get(f"/api/v1/letters/{activation_batch}").json())["status"] == "done"

    _fail_after(monkeypatch, printing, "print_batches")
    failed = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin", "login": "password"})
    assert failed.status_code >= 500, failed.text
    monkeypatch.undo()
    [held] = set(_batches(db_engine, firm.id)) - {activation_batch}

    # a later change that commits: its batch is confirmed and printed; the failed change's batch, older and
    # so first in the render queue, is still held (without the hold it would have been printed first)
    issued = firm.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": "pin", "login": "password"})
    assert issued.status_code == 200, issued.text
    good = issued.json()["letter_batch_id"]
    assert wait_done(lambda: firm.admin.get(f"/api/v1/letters/{good}").json())["status"] == "done"
    assert firm.admin.get(f"/api/v1/letters/{held}").json()["status"] == "held"
    not_ready = firm.admin.get(f"/api/v1/letters/{held}/pdf")
    assert not_ready.status_code == 409, not_ready.text

    with Session(db_engine) as session:  # not yet: inside the wait, nothing is discarded
        assert letter_batches.discard_unconfirmed(session, now=_later(23)) == 0
        session.commit()
    with Session(db_engine) as session:
        assert letter_batches.discard_unconfirmed(session, now=_later(25)) == 1
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(LetterBlock)
                              .where(LetterBlock.batch_id == held)) == 0  # the PINs are gone
    status = firm.admin.get(f"/api/v1/letters/{held}").json()
    assert status["status"] == "discarded" and "niet doorgevoerd" in status["error"], status
    refused = firm.admin.get(f"/api/v1/letters/{held}/pdf")
    assert refused.status_code == 409 and "niet doorgevoerd" in refused.json()["message"], refused.text


def test_an_activation_mail_of_a_change_that_failed_is_never_sent(portal, db_engine, monkeypatch):
    firm = Firm(portal)
    client = firm.client(0)
    _fail_after(monkeypatch, mailing, "send_activation")
    failed = firm.admin.post(f"/api/v1/clients/{client['id']}/users",
                             json={"name": "Mila Klant", "email": "mila@klant.example", "delivery": "email"})
    assert failed.status_code >= 500, failed.text
    monkeypatch.undo()
    assert [u for u in firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"]
            if u["name"] == "Mila Klant"] == []

    # the same request again commits: its mail goes out; the first one's stays held (its code never existed)
    created = firm.admin.post(f"/api/v1/clients/{client['id']}/users",
                              json={"name": "Mila Klant", "email": "mila@klant.example", "delivery": "email"})
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 10
    while not (sent := [m for m in portal.rpc.notify.dev_mail_outbox(limit=500) if m["to"] == "mila@klant.example"]):
        assert time.monotonic() < deadline, "the confirmed mail was not sent"
        time.sleep(0.05)
    assert len(sent) == 1 and created.json()["username"] in sent[0]["text"], sent
    with Session(db_engine) as session:
        mails = session.scalars(sa.select(EmailMessage).where(EmailMessage.to_address == "mila@klant.example")
                                .order_by(EmailMessage.id)).all()
        assert [m.status for m in mails] == ["held", "sent"]
        held_id = mails[0].id
    with Session(db_engine) as session:
        assert notify_mail.discard_unconfirmed(session, now=_later(25)) >= 1
        session.commit()
        discarded = session.get(EmailMessage, held_id)
        assert discarded.status == "failed" and discarded.text_enc is None and discarded.html_enc is None


@pytest.mark.parametrize("hours", ["0", "-1", "soon", "nan", "inf"])
def test_the_wait_must_be_a_positive_number_of_hours_checked_at_start(monkeypatch, hours):
    from chassis import config
    monkeypatch.setenv("AKKOORD_UNCONFIRMED_HOURS", hours)
    with pytest.raises(ValueError, match="AKKOORD_UNCONFIRMED_HOURS"):
        config.load()  # what every service process reads as it starts
    monkeypatch.setenv("AKKOORD_UNCONFIRMED_HOURS", "1.5")
    assert config.load().unconfirmed_hours == 1.5
