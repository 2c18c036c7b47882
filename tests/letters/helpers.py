"""Helpers for the letters tests: principals, letters, waiting for a batch, reading PDFs."""
import io
import time

import pypdf


def staff(firm_id, branch_id=None, user_id=1, rights=("admin",)):
    return {"kind": "staff", "user_id": user_id, "firm_id": firm_id, "branch_id": branch_id,
            "rights": list(rights), "client_ids": [], "superuser_client_ids": []}


def letter(i, postcode, pin=None, **extra):
    data = {"recipient_name": f"Persoon {i} de Tester", "client_name": f"Cliënt {i} B.V.",
            "street": "Dorpsstraat", "house_number": str(i + 1), "postcode": postcode,
            "city": "Utrecht", "country": "Nederland", "username": f"gebruiker{i}",
            "secret": pin or f"{700000 + i * 7919 % 99999:06d}"}
    data.update(extra)
    return data


def wait_done(get_status, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        status = get_status()
        if status["status"] in ("done", "failed"):
            return status
        assert time.monotonic() < deadline, f"batch still {status['status']} ({status['done']}/{status['total']})"
        time.sleep(0.1)


def pdf_pages(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [page.extract_text() for page in reader.pages]


def container(portal, name):
    return next(c for c in portal.runner.containers if c.service_name == name)
