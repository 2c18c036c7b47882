"""Setting up a firm, branches, staff, clients and client users through the real services."""
import base64
import datetime as dt
import io
import re
import uuid

from nameko.standalone.events import event_dispatcher
from pypdf import PdfReader

from tests.notify.conftest import wait_for


def envelope(event_type: str, data: dict, event_id: str | None = None) -> dict:
    """The chassis outbox envelope, as another service's relay would publish it."""
    return {"event_id": event_id or str(uuid.uuid4()), "event_type": event_type,
            "occurred_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z", "data": data}


def publish(source: str, payload: dict):
    """Publish to ``<source>.events`` with routing key = event type, as the outbox relay does."""
    event_dispatcher()(source, payload["event_type"], payload)


class Firm:
    def __init__(self, portal, branches=("Amsterdam", "Utrecht")):
        self.portal = portal
        self.firm = portal.create_firm(branches=list(branches))
        self.id = self.firm["firm_id"]
        self.branch_ids = self.firm["branch_ids"]
        self.admin = portal.login(self.firm["admin"]["username"], self.firm["admin"]["password"])
        self.admin_id = self.firm["admin_user_id"]
        self.admin_email = self.firm["admin"]["email"]
        self.admin_principal = self.principal_of(self.admin)

    def principal_of(self, api) -> dict:
        return self.portal.rpc.identity.authenticate(token=api.headers["Authorization"][7:])

    def client(self, branch_index=0, name="Bakkerij Jansen BV") -> dict:
        return self.portal.rpc.identity.create_client(
            principal=self.admin_principal,
            payload={"number": f"C{uuid.uuid4().hex[:8]}", "name": name, "branch_id": self.branch_ids[branch_index]})

    def _letter_text(self, batch_id) -> str:
        letters = self.portal.rpc.letters
        wait_for(lambda: letters.batch_status(principal=self.admin_principal, batch_id=batch_id)["status"] == "done",
                 timeout=60)
        pdf = base64.b64decode(letters.batch_pdf(principal=self.admin_principal, batch_id=batch_id)["pdf_base64"])
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)

    def _activate(self, username, batch_id) -> str:
        code = re.search(r"Activeringscode:\s*(\S+)", self._letter_text(batch_id)).group(1)
        password = f"Een lang wachtwoord {uuid.uuid4().hex[:6]}"
        self.portal.rpc.identity.activate(payload={"username": username, "activation_code": code,
                                                   "password": password})
        return password

    def client_user(self, client_id, name="Cor Klant", mobile=None, login=True) -> dict:
        email = f"{uuid.uuid4().hex[:8]}@klant.example"
        created = self.portal.rpc.identity.create_client_user(
            principal=self.admin_principal, client_id=client_id,
            payload={"name": name, "mobile": mobile, "superuser": True, "email": email})
        user = {"id": created["id"], "username": created["username"], "name": name, "email": email,
                "mobile": mobile}
        if login:
            password = self._activate(created["username"], created["letter_batch_id"])
            user["password"] = password
            user["api"] = self.portal.login(created["username"], password)
        return user

    def staff(self, branch_index=None, name="Bram Medewerker", rights=("news",)) -> dict:
        """A staff user of one branch (or firm-wide), with an own group carrying ``rights``."""
        group = self.portal.rpc.identity.create_group(
            principal=self.admin_principal,
            payload={"name": f"groep-{uuid.uuid4().hex[:6]}", "kind": "staff", "rights": list(rights)})
        branch_id = None if branch_index is None else self.branch_ids[branch_index]
        username = f"staff-{uuid.uuid4().hex[:8]}"
        email = f"{username}@kantoor.example"
        created = self.portal.rpc.identity.create_staff(
            principal=self.admin_principal,
            payload={"username": username, "name": name, "email": email, "branch_id": branch_id,
                     "group_id": group["id"]})
        password = f"Een lang wachtwoord {uuid.uuid4().hex[:6]}"
        self.portal.rpc.identity.activate(payload={"username": username, "activation_code": created["activation_code"],
                                                   "password": password})
        return {"id": created["id"], "email": email, "branch_id": branch_id, "name": name,
                "api": self.portal.login(username, password)}
