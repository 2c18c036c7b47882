"""Filing channels. The approval flow knows none of them: filings.py talks to a Channel.

A real SBR/Digipoort channel implements the same two calls (deliver a submission,
ask its status) and is registered in CHANNELS; AKKOORD_FILING_CHANNEL picks one.
"""
import datetime as dt
import os
import re
import uuid
from typing import Protocol

import sqlalchemy as sa

from filing.models import DigipoortSubmission, utcnow


class Channel(Protocol):
    name: str

    def submit(self, session, *, kvk: str | None, sha256: str, pdf: bytes) -> str:
        """Deliver a submission; returns the channel's reference. Raises ChannelUnavailable."""

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

    def submit(self, session, *, kvk, sha256, pdf) -> str:
        reference = "DP-" + uuid.uuid4().hex[:20].upper()
        if not kvk or not re.fullmatch(r"\d{8}", kvk):
            outcome, message = "rejected", "KvK-nummer ontbreekt of is ongeldig; de KvK kan de stukken niet koppelen."
        elif not pdf.startswith(b"%PDF-"):
            outcome, message = "rejected", "Het aangeleverde bestand is geen PDF."
        else:
            outcome, message = "accepted", "Ontvangen en gedeponeerd bij de KvK."
        session.add(DigipoortSubmission(reference=reference, kvk=kvk, sha256=sha256, outcome=outcome,
                                        message=message, ready_at=utcnow() + self.delay))
        session.flush()
        return reference

    def status(self, session, reference):
        row = session.scalars(sa.select(DigipoortSubmission).where(
            DigipoortSubmission.reference == reference, DigipoortSubmission.ready_at <= utcnow())).first()
        return (row.outcome, row.message) if row else None


CHANNELS = {DigipoortSimulator.name: DigipoortSimulator}


def configured_channel() -> Channel:
    return CHANNELS[os.environ.get("AKKOORD_FILING_CHANNEL", DigipoortSimulator.name)]()
