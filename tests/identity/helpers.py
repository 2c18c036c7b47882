"""Helpers for identity's tests: firms, principals, clients, users made through the real services."""
import uuid

import sqlalchemy as sa


def error_name(exc) -> str:
    """The remote class name of an RPC error, whether it arrived typed (registered) or as RemoteError."""
    return getattr(exc, "exc_type", None) or type(exc).__name__


def token_of(api) -> str:
    return api.headers["Authorization"][7:]


def principal_of(portal, api) -> dict:
    return portal.rpc.identity.authenticate(token=token_of(api))


class Firm:
    """A firm with two branches, its admin logged in, and helpers to populate it."""

    def __init__(self, portal, branches=("Amsterdam", "Utrecht"), multi_branch=True):
        self.portal = portal
        self.data = portal.create_firm(branches=branches, multi_branch=multi_branch)
        self.id = self.data["firm_id"]
        self.branch_ids = self.data["branch_ids"]
        self.admin = portal.login(self.data["admin"]["username"], self.data["admin"]["password"])
        self.admin_principal = principal_of(portal, self.admin)

    def client(self, branch_index=0, **fields):
        number = fields.pop("number", f"C{uuid.uuid4().hex[:8]}")
        body = {"number": number, "name": fields.pop("name", f"Cliënt {number} BV"),
                "branch_id": self.branch_ids[branch_index], **fields}
        response = self.admin.post("/api/v1/clients", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def staff(self, branch_index=None, rights_group=None, password=None):
        """A staff user (branch or firm-wide), activated with its code, logged in; in the usual staff group
        (every module but Beheer) unless ``rights_group`` names another ("none": no group, no rights)."""
        if rights_group is None:
            rights_group = self._usual_staff_group()
        elif rights_group == "none":
            rights_group = None
        username = f"staff-{uuid.uuid4().hex[:8]}"
        body = {"username": username, "name": "Sam Medewerker", "email": f"{username}@example.nl",
                "branch_id": None if branch_index is None else self.branch_ids[branch_index],
                "group_id": rights_group}
        response = self.admin.post("/api/v1/staff", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        password = password or f"Lang en uniek {uuid.uuid4().hex[:6]} wachtwoord"
        activated = self.portal.api().post("/api/v1/activate", json={
            "username": username, "activation_code": created["activation_code"], "password": password})
        assert activated.status_code == 200, activated.text
        api = self.portal.login(username, password)
        return {"id": created["id"], "username": username, "password": password, "api": api,
                "principal": principal_of(self.portal, api)}

    def _usual_staff_group(self):
        if getattr(self, "_usual_group", None) is None:
            self._usual_group = self.staff_group()
        return self._usual_group

    def staff_group(self, rights=("approval", "documents", "news", "users", "filing")):
        response = self.admin.post("/api/v1/groups", json={"name": f"Medewerkers {uuid.uuid4().hex[:6]}",
                                                           "kind": "staff", "rights": list(rights)})
        assert response.status_code == 201, response.text
        return response.json()["id"]


def db_client_user(engine, firm_id, client_id, superuser=False, mobile=None, password_hash=None, name="Cor Klant"):
    """A client user inserted straight into identity's tables, for tests that must not depend on letters."""
    from identity.models import ClientUserLink, User
    username = f"klant-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        user_id = conn.execute(sa.insert(User.__table__).values(
            firm_id=firm_id, kind="client", username=username, name=name, email=f"{username}@example.nl",
            mobile=mobile, branch_id=None, group_id=None, rights=["approval", "documents", "news"], active=True,
            password_hash=password_hash, confirmation_method="pin", login_method="password", pin_failures=0,
            failed_logins=0, created_at=sa.func.now()).returning(User.__table__.c.id)).scalar_one()
        conn.execute(sa.insert(ClientUserLink.__table__).values(user_id=user_id, client_id=client_id,
                                                                superuser=superuser, created_at=sa.func.now()))
    return {"id": user_id, "username": username}


def letter_secrets(portal, principal, batch_id, timeout=90) -> dict:
    """{username: secret} read from the printed batch, as a person reads the letter."""
    import base64
    import io
    import re
    import time

    from pypdf import PdfReader
    deadline = time.monotonic() + timeout
    while True:
        status = portal.rpc.letters.batch_status(principal, batch_id)
        if status["status"] == "done":
            break
        assert status["status"] not in ("failed", "purged"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    pdf = base64.b64decode(portal.rpc.letters.batch_pdf(principal, batch_id)["pdf_base64"])
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    found = {}
    for match in re.finditer(r"Gebruikersnaam:\s*(\S+)\s+(?:Activeringscode|PIN-code):\s*(\S+)", text):
        found[match.group(1)] = match.group(2)
    return found


def sms_to(portal, number) -> list[str]:
    """Bodies of the SMS messages notify holds for a number (the outbox backend), newest first."""
    return [m["body"] for m in portal.rpc.notify.dev_sms_outbox(limit=500) if m["to"] == number]


def code_in(body: str) -> str:
    import re
    return re.search(r"\b(\d{6})\b", body).group(1)
