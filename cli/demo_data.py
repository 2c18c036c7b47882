"""Demo content for ``make demo``: clients, a client user with a PIN, a document to approve.

Everything goes through the public HTTP API, as a firm would do it; the secrets the demo
needs to print (the client user's password and PIN) are kept in var/demo.json so a
restart prints them again without re-seeding.
"""
import io
import json
import re
import time

import requests
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from chassis.config import var_dir

CLIENT_PASSWORD = "Verse broodjes elke ochtend"
CLIENTS = [
    {"number": "D-1001", "name": "Bakkerij Jansen BV", "kvk": "01234567", "street": "Dorpsstraat",
     "house_number": "12", "postcode": "1181 AB", "city": "Amstelveen", "email": "info@jansen.example",
     "contact": "Anna Jansen", "branch": "Amsterdam"},
    {"number": "D-1002", "name": "Smederij Smit", "kvk": "87654321", "street": "Kerkweg", "house_number": "3",
     "postcode": "3511 AA", "city": "Utrecht", "email": "smit@smit.example", "contact": "Sem Smit",
     "branch": "Utrecht"},
]


def _wait(api, url, done, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(url, timeout=30).json()
        if done(body):
            return body
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {url}")


def _letter_text(api, base, batch_id) -> str:
    _wait(api, f"{base}/api/v1/letters/{batch_id}", lambda b: b.get("status") == "done")
    pdf = api.get(f"{base}/api/v1/letters/{batch_id}/pdf", timeout=60).content
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)


def _demo_pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setFont("Helvetica-Bold", 18)
    page.drawString(72, 760, "Jaarrekening 2025 — Bakkerij Jansen BV")
    page.setFont("Helvetica", 11)
    page.drawString(72, 730, "Demo-document om te accorderen in akkoord.")
    page.save()
    return buffer.getvalue()


def seed(base: str, admin: dict) -> list[str]:
    state_file = var_dir() / "demo.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
    else:
        state = _seed(base, admin)
        state_file.write_text(json.dumps(state))
        state_file.chmod(0o600)
    return [f"  cliëntgebruiker:  {state['username']} / {state['password']}  (PIN-code {state['pin']})"]


def _seed(base: str, admin: dict) -> dict:
    api = requests.Session()
    token = api.post(f"{base}/api/v1/session", json={"username": admin["username"], "password": admin["password"]},
                     timeout=60).json()["token"]
    api.headers["Authorization"] = f"Bearer {token}"
    branches = {b["name"]: b["id"] for b in api.get(f"{base}/api/v1/branches", timeout=30).json()["items"]}
    ids = []
    for client in CLIENTS:
        body = {k: v for k, v in client.items() if k != "branch"}
        body["branch_id"] = branches[client["branch"]]
        response = api.post(f"{base}/api/v1/clients", json=body, timeout=30)
        response.raise_for_status()
        ids.append(response.json()["id"])
    created = api.post(f"{base}/api/v1/clients/{ids[0]}/users", timeout=60,
                       json={"name": "Anna Jansen", "email": "anna@jansen.example", "superuser": True}).json()
    text = _letter_text(api, base, created["letter_batch_id"])
    code = re.search(r"Activeringscode:\s*(\S+)", text).group(1)
    requests.post(f"{base}/api/v1/activate", timeout=60, json={
        "username": created["username"], "activation_code": code, "password": CLIENT_PASSWORD}).raise_for_status()
    tokens = api.post(f"{base}/api/v1/tokens", timeout=60,
                      json={"user_ids": [created["id"]], "confirmation": "pin", "login": "password"}).json()
    pin = re.search(r"PIN-code:\s*(\d+)", _letter_text(api, base, tokens["letter_batch_id"])).group(1)
    api.post(f"{base}/api/v1/documents", timeout=60,
             data={"client_id": str(ids[0]), "document_type": "annual_accounts", "title": "Jaarrekening 2025"},
             files={"file": ("jaarrekening-2025.pdf", _demo_pdf(), "application/pdf")}).raise_for_status()
    return {"username": created["username"], "password": CLIENT_PASSWORD, "pin": pin}
