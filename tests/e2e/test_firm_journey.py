"""A firm's first season on akkoord, through the HTTP API only — every service, the real
gateway, RabbitMQ and PostgreSQL: import clients → bulk users with activation letters →
activation → PIN letters → a document to approve → approval with the PIN → evidence and
certificate → filing with the KvK simulator. Meanwhile every log line the services write, as
production writes them (JSON, INFO), is kept: no secret and no BSN of the journey may be in one."""
import csv
import io
import logging
import re
import time

import pytest
from pypdf import PdfReader

from chassis import logs

from tests.approval.helpers import make_pdf


def wait_json(api, path, done, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(path).json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def service_logs():
    """The log lines of every service in this process, formatted as in production (chassis.logs)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved)


def test_a_firm_from_import_to_filing(approval_portal, service_logs):
    portal = approval_portal
    firm = portal.create_firm(branches=["Amsterdam", "Utrecht"])
    staff = portal.login(firm["admin"]["username"], firm["admin"]["password"])
    staff_token = staff.headers["Authorization"].split()[1]

    group = staff.post("/api/v1/groups", json={"name": "Jaarrekeningklanten", "kind": "client",
                                                "rights": ["approval", "documents", "news"]})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]

    # 1. Import the client list (Dutch Excel CSV: semicolons, Windows-1252).
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    bsn = "111222333"  # passes the elfproef; personal data the logs must never show
    writer.writerow(["Cliëntnummer", "Naam", "KvK-nummer", "BSN", "Straat", "Huisnummer", "Postcode", "Plaats",
                     "E-mail", "Contactpersoon", "Vestiging"])
    writer.writerow(["J-001", "Bakkerij Jansen BV", "1234567", "", "Dorpsstraat", "12", "1234ab", "Amstelveen",
                     "info@jansen.example", "Anna Jansen", "Amsterdam"])
    writer.writerow(["J-002", "Smederij Smit", "87654321", bsn, "Kerkweg", "3", "3511 AA", "Utrecht",
                     "smit@smit.example", "Sem Smit", "Utrecht"])
    upload = staff.post("/api/v1/imports", files={"file": ("klanten.csv", out.getvalue().encode("cp1252"),
                                                           "text/csv")})
    assert upload.status_code == 202, upload.text
    import_path = f"/api/v1/imports/{upload.json()['id']}"
    ready = wait_json(staff, import_path, lambda b: b["status"] in ("ready", "failed"))
    assert ready["summary"] == {"new": 2, "update": 0, "unchanged": 0, "invalid": 0}, ready
    assert staff.post(f"{import_path}/commit", json={"rows": "all", "group_id": group_id}).status_code == 202
    assert wait_json(staff, import_path, lambda b: b["status"] in ("done", "failed"))["status"] == "done"

    clients = staff.get("/api/v1/clients", params={"q": "Jansen"}).json()
    [jansen] = clients["items"]
    assert jansen["kvk"] == "01234567" and jansen["postcode"] == "1234 AB"

    # 2. Bulk users: the first user of each client, with an activation letter.
    bulk = staff.post("/api/v1/users/bulk", json={"client_ids": [jansen["id"]], "group_id": group_id})
    assert bulk.status_code in (200, 201), bulk.text
    [created] = bulk.json()["created"]
    batch = wait_json(staff, f"/api/v1/letters/{bulk.json()['letter_batch_id']}", lambda b: b["status"] == "done")
    letter = pdf_pages(staff.get(f"/api/v1/letters/{batch['id']}/pdf").content)[0]
    assert "Bakkerij Jansen BV" in letter and "1234 AB" in letter
    username = re.search(r"Gebruikersnaam:\s*(\S+)", letter).group(1)
    code = re.search(r"Activeringscode:\s*(\S+)", letter).group(1)

    # 3. The client activates and chooses its own password.
    password = "Verse broodjes elke ochtend"
    activated = portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                            "password": password})
    assert activated.status_code == 200, activated.text
    again = portal.api().post("/api/v1/activate", json={"username": username, "activation_code": code,
                                                        "password": password})
    assert again.status_code >= 400  # an activation code works once

    # 4. Tokens/rights: confirm approvals with a PIN, printed on a PIN letter.
    tokens = staff.post("/api/v1/tokens", json={"user_ids": [created["id"]], "confirmation": "pin",
                                                "login": "password"})
    assert tokens.status_code == 200, tokens.text
    batch_id = tokens.json()["letter_batch_id"]
    wait_json(staff, f"/api/v1/letters/{batch_id}", lambda b: b["status"] == "done")
    pin_letter = pdf_pages(staff.get(f"/api/v1/letters/{batch_id}/pdf").content)[0]
    pin = re.search(r"PIN-code:\s*(\d+)", pin_letter).group(1)
    assert len(pin) >= 6

    # 5. Staff upload the annual accounts; the client sees them on its approval screen.
    pdf = make_pdf("Jaarrekening 2025 Bakkerij Jansen")
    document = staff.post("/api/v1/documents", data={"client_id": str(jansen["id"]),
                                                      "document_type": "annual_accounts",
                                                      "title": "Jaarrekening 2025"},
                          files={"file": ("jaarrekening-2025.pdf", pdf, "application/pdf")})
    assert document.status_code == 201, document.text
    request_id = document.json()["approval_id"]

    client_user = portal.login(username, password)
    client_token = client_user.headers["Authorization"].split()[1]
    [pending] = client_user.get("/api/v1/approvals", params={"status": "pending"}).json()["items"]
    assert pending["id"] == request_id and pending["client"]["name"] == "Bakkerij Jansen BV"
    assert client_user.get(f"/api/v1/approvals/{request_id}/document").content == pdf

    # 6. Approve with the PIN from the letter.
    approved = client_user.post(f"/api/v1/approvals/{request_id}/approve", json={"pin": pin})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    evidence = staff.get(f"/api/v1/approvals/{request_id}/evidence").json()
    assert evidence["verification"]["valid"] is True
    assert [r["event"] for r in evidence["records"]][:3] == ["created", "viewed", "approved"]
    certificate = staff.get(f"/api/v1/approvals/{request_id}/evidence", params={"format": "pdf"})
    assert certificate.headers["Content-Type"] == "application/pdf"
    assert "Jaarrekening 2025" in "\n".join(pdf_pages(certificate.content))

    # 7. File the approved accounts with the KvK.
    filing = staff.post("/api/v1/filings", json={"approval_id": request_id})
    assert filing.status_code == 202, filing.text
    final = wait_json(staff, f"/api/v1/filings/{filing.json()['id']}", lambda b: b["status"] != "submitted")
    assert final["status"] == "accepted" and final["kvk"] == "01234567"

    # 8. The logs: the journey was logged (access lines, the import, the filing), and no secret is in them.
    written = service_logs.getvalue()
    assert written.count("\n") > 20 and "/api/v1/filings" in written
    secrets = {"the admin's password": firm["admin"]["password"], "the client's password": password,
               "the activation code": code, "the PIN": pin, "the staff token": staff_token,
               "the client's token": client_token, "a BSN": bsn}
    leaked = [what for what, secret in secrets.items() if secret in written]
    assert not leaked, f"in the logs: {leaked}"
