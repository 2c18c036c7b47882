"""Helpers for approval tests: real PDFs, and direct sessions on the test database."""
import base64
import io

from reportlab.pdfgen import canvas
from sqlalchemy.orm import sessionmaker

from approval.models import outbox
from chassis.outbox import EventOutbox


def make_pdf(text: str = "Jaarrekening 2025", pages: int = 1) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number in range(pages):
        pdf.drawString(72, 720, f"{text} — pagina {number + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class OutboxEvents:
    """approval's own outbox table written in the caller's session (what self.events does in a worker)."""

    def __init__(self, session):
        self.session = session
        self.provider = EventOutbox(outbox)

    def emit(self, event_type, data):
        return self.provider.write(self.session, event_type, data)


def session_factory(engine):
    return sessionmaker(bind=engine, expire_on_commit=False)
