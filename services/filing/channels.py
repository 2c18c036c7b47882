"""Filing channels. The approval flow knows none of them: filings.py talks to a Channel.

A real SBR/Digipoort channel implements the same three calls (deliver a submission under
our own stable reference, find a submission by that reference, ask its status) and is
registered in CHANNELS; AKKOORD_FILING_CHANNEL picks one. filings.py calls the channel
outside its own transaction: the channel's side is another system, and a delivery is
retried after an unknown outcome, so ``submit`` must be idempotent on ``submission_id``.
"""
import datetime as dt
import os
import re
import uuid
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from filing.exceptions import ChannelUnavailable
from filing.models import DigipoortSubmission, utcnow


class Channel(Protocol):
    name: str

    def submit(self, session, *, submission_id: str, kvk: str | None, sha256: str, pdf: bytes) -> str:
        """Deliver a submission; returns the channel's reference. Raises ChannelUnavailable.

        Delivering the same ``submission_id`` again returns the first delivery's reference."""

    def find(self, session, submission_id: str) -> str | None:
        """The channel's reference for a submission it already has, else None. Raises ChannelUnavailable."""

    def status(self, session, reference: str) -> tuple[str, str] | None:
        """``(accepted|rejected, message)`` once the KvK has decided, else None."""


class DigipoortSimulator:
    """A local stand-in for Digipoort: accepts or rejects, answers asynchronously.

    Rules the real KvK applies first, simulated: the submission must name a
    registered-looking KvK number (8 digits) and carry a PDF.
    """
    name = "digipoort-simulator"

    def __init__(self, delay_seconds: float | None = None):
        self.delay = dt.timedelta(seconds=float(
            delay_seconds if delay_seconds is not None else os.environ.get("AKKOORD_DIGIPOORT_DELAY", "1")))

    def submit(self, session, *, submission_id, kvk, sha256, pdf) -> str:
        existing = self.find(session, submission_id)
        if existing is not None:
            return existing
        reference = "DP-" + uuid.uuid4().hex[:20].upper()
        if not kvk or not re.fullmatch(r"\d{8}", kvk):
            outcome, message = "rejected", "KvK-nummer ontbreekt of is ongeldig; de KvK kan de stukken niet koppelen."
        elif not pdf.startswith(b"%PDF-"):
            outcome, message = "rejected", "Het aangeleverde bestand is geen PDF."
        else:
            outcome, message = "accepted", "Ontvangen en gedeponeerd bij de KvK."
        # "The KvK" keeps what it received whatever happens to our transaction: its own session, committed.
        try:
            with Session(bind=session.get_bind()) as kvk_side, kvk_side.begin():
                kvk_side.add(DigipoortSubmission(reference=reference, submission_id=submission_id, kvk=kvk,
                                                 sha256=sha256, outcome=outcome, message=message,
                                                 ready_at=utcnow() + self.delay))
        except IntegrityError:  # the same submission delivered at the same moment: the first one counts
            return self.find(session, submission_id)
        except OperationalError as exc:
            raise ChannelUnavailable("Digipoort is niet bereikbaar.") from exc
        return reference

    def find(self, session, submission_id):
        try:
            with Session(bind=session.get_bind()) as kvk_side:
                return kvk_side.scalar(sa.select(DigipoortSubmission.reference).where(
                    DigipoortSubmission.submission_id == submission_id))
        except OperationalError as exc:
            raise ChannelUnavailable("Digipoort is niet bereikbaar.") from exc

    def status(self, session, reference):
        row = session.scalars(sa.select(DigipoortSubmission).where(
            DigipoortSubmission.reference == reference, DigipoortSubmission.ready_at <= utcnow())).first()
        return (row.outcome, row.message) if row else None


CHANNELS = {DigipoortSimulator.name: DigipoortSimulator}


def configured_channel() -> Channel:
    return CHANNELS[os.environ.get("AKKOORD_FILING_CHANNEL", DigipoortSimulator.name)]()
