"""Helpers for approval tests: real PDFs, and direct sessions on the test database."""
import base64
import contextlib
import io

import sqlalchemy as sa

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


@contextlib.contextmanager
def tampering_as_table_owner(db_engine):
    """What only the table's owner can still do to the evidence: switch off the append-only trigger
    for one transaction. The hash chain is what then tells."""
    with db_engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE approval.evidence DISABLE TRIGGER evidence_append_only"))
        yield conn
        conn.execute(sa.text("ALTER TABLE approval.evidence ENABLE TRIGGER evidence_append_only"))


class OutboxEvents:
    """approval's own outbox table written in the caller's session (what self.events does in a worker)."""

    def __init__(self, session):
        self.session = session
        self.provider = EventOutbox(outbox)

    def emit(self, event_type, data):
        return self.provider.write(self.session, event_type, data)


def session_factory(engine):
    return sessionmaker(bind=engine, expire_on_commit=False)


# -- setting up a firm, clients and client users through the real services -------------

import re
import time
import uuid

from pypdf import PdfReader


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, "condition not reached in time"
    return value


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


class World:
    """A firm with its admin, and helpers to make clients and client users the way staff do."""

    def __init__(self, portal, fake_twilio=None, branches=("Amsterdam", "Utrecht")):
        self.portal = portal
        self.twilio = fake_twilio
        self.firm = portal.create_firm(branches=list(branches))
        self.branch_ids = self.firm["branch_ids"]
        self.admin = portal.login(self.firm["admin"]["username"], self.firm["admin"]["password"])
        self.admin_principal = self.principal_of(self.admin)

    def principal_of(self, api) -> dict:
        return self.portal.rpc.identity.authenticate(token=api.headers["Authorization"][7:])

    def client(self, name="Bakkerij Jansen BV", branch_index=0) -> dict:
        number = f"C{uuid.uuid4().hex[:8]}"
        return self.portal.rpc.identity.create_client(
            principal=self.admin_principal,
            payload={"number": number, "name": name, "branch_id": self.branch_ids[branch_index]})

    def _letter_text(self, batch_id) -> str:
        letters = self.portal.rpc.letters
        wait_for(lambda: letters.batch_status(principal=self.admin_principal, batch_id=batch_id)["status"] == "done",
                 timeout=60)
        pdf = letters.batch_pdf(principal=self.admin_principal, batch_id=batch_id)
        return pdf_text(base64.b64decode(pdf["pdf_base64"]))

    def user(self, client_id, name, mobile=None, superuser=False, confirmation=None, password=None) -> dict:
        """A client user, activated and logged in; with ``confirmation`` also a PIN or SMS confirmation."""
        created = self.portal.rpc.identity.create_client_user(
            principal=self.admin_principal, client_id=client_id,
            payload={"name": name, "mobile": mobile, "superuser": superuser,
                     "email": f"{uuid.uuid4().hex[:6]}@example.nl"})
        text = self._letter_text(created["letter_batch_id"])
        code = re.search(r"Activeringscode:\s*(\S+)", text).group(1)
        password = password or f"Een lang wachtwoord {uuid.uuid4().hex[:6]}"
        self.portal.rpc.identity.activate(payload={"username": created["username"], "activation_code": code,
                                                   "password": password})
        user = {"id": created["id"], "username": created["username"], "name": name, "mobile": mobile,
                "password": password}
        if confirmation:
            self.tokens([user], confirmation)
        user["api"] = self.portal.login(created["username"], password)
        return user

    def link(self, user, client_id, superuser=False):
        self.portal.rpc.identity.create_client_user(principal=self.admin_principal, client_id=client_id,
                                                    payload={"user_id": user["id"], "superuser": superuser})
        user["api"] = self.portal.login(user["username"], user["password"])  # new principal with the new client

    def tokens(self, users, confirmation="pin"):
        result = self.portal.rpc.identity.issue_tokens(
            principal=self.admin_principal,
            payload={"user_ids": [u["id"] for u in users], "confirmation": confirmation, "login": "password"})
        if confirmation == "pin":
            text = self._letter_text(result["letter_batch_id"])
            for u in users:
                match = re.search(r"Gebruikersnaam:\s*" + re.escape(u["username"]) + r".*?PIN-code:\s*(\d+)",
                                  text, re.S)
                u["pin"] = match.group(1)
        for u in users:
            u["confirmation"] = confirmation

    def sms_code(self, user, after: int) -> str:
        """The code in the newest SMS to the user's mobile, once more than ``after`` messages arrived."""
        messages = wait_for(lambda: (lambda m: m if len(m) > after else None)(self.twilio.messages(to=user["mobile"])))
        return re.search(r"\b(\d{6})\b", messages[-1]["form"]["Body"]).group(1)

    def upload(self, api, client_id, document_type="annual_accounts", title="Jaarrekening 2025", data=None,
               **extra):
        form = {"client_id": str(client_id), "document_type": document_type, "title": title}
        form.update({k: str(v) for k, v in extra.items()})
        return api.post("/api/v1/documents", data=form,
                        files={"file": ("jaarrekening.pdf", data if data is not None else make_pdf(title),
                                        "application/pdf")})


def add_staff(world, branch_index, rights=("approval", "documents")) -> dict:
    """A staff member of one branch (or firm-wide with branch_index None), activated and logged in."""
    rpc = world.portal.rpc.identity
    group = rpc.create_group(principal=world.admin_principal,
                             payload={"name": f"Medewerkers {uuid.uuid4().hex[:6]}", "kind": "staff",
                                      "rights": list(rights)})
    username = f"staff-{uuid.uuid4().hex[:8]}"
    branch_id = None if branch_index is None else world.branch_ids[branch_index]
    created = rpc.create_staff(principal=world.admin_principal,
                               payload={"username": username, "name": "Sanne Medewerker", "branch_id": branch_id,
                                        "group_id": group["id"]})
    password = f"Een lang wachtwoord {uuid.uuid4().hex[:6]}"
    rpc.activate(payload={"username": username, "activation_code": created["activation_code"],
                          "password": password})
    return {"id": created["id"], "username": username, "api": world.portal.login(username, password)}
