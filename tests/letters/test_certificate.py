"""The approval certificate: the evidence of a request as a PDF, read back with pypdf."""
import base64

import pytest

from tests.letters.helpers import pdf_pages

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _evidence(events=None):
    return {
        "request_id": 812, "firm_name": "Van Dijk & Partners", "title": "Jaarrekening 2025 Bakkerij Öztürk",
        "document_type": "annual_accounts", "sha256": SHA, "status": "approved", "chain_valid": True,
        "client": {"number": "C-1042", "name": "Bakkerij Öztürk B.V."},
        "events": events or [
            {"at": "2026-03-02T09:15:03.120000Z", "event": "created", "actor": "Anna de Beheerder",
             "method": "", "ip": "10.0.0.5", "user_agent": "Mozilla/5.0", "hash": "a" * 64},
            {"at": "2026-03-02T10:01:44+01:00", "event": "viewed", "actor": "Jan de Vries", "method": "",
             "ip": "192.0.2.17", "user_agent": "Firefox", "hash": "b" * 64},
            {"at": "2026-03-02T10:03:10Z", "event": "code_sent", "actor": "Jan de Vries", "method": "sms",
             "ip": "192.0.2.17", "hash": "c" * 64},
            {"at": "2026-03-02T10:04:55Z", "event": "approved", "actor": "Jan de Vries", "method": "sms",
             "ip": "2001:db8::17", "hash": "d" * 64},
        ]}


def test_certificate_holds_document_hash_client_and_every_event(portal):
    result = portal.rpc.letters.render_certificate(payload=_evidence())
    data = base64.b64decode(result["pdf_base64"])
    assert data.startswith(b"%PDF")
    text = "\n".join(pdf_pages(data))
    assert "Bewijs van accordering" in text
    assert "Jaarrekening 2025 Bakkerij Öztürk" in text
    assert SHA in text.replace("\n", "")
    assert "C-1042" in text and "Bakkerij Öztürk B.V." in text
    # each event: UTC time (offsets converted), actor, method, IP
    for moment in ("02-03-2026 09:15:03 UTC", "02-03-2026 09:01:44 UTC", "02-03-2026 10:03:10 UTC",
                   "02-03-2026 10:04:55 UTC"):
        assert moment in text, moment
    for word in ("Aangemaakt", "Bekeken", "Sms-code verstuurd", "Akkoord gegeven", "Anna de Beheerder",
                 "Jan de Vries", "10.0.0.5", "192.0.2.17", "2001:db8::17", "Sms-code"):
        assert word in text, word


def test_long_evidence_runs_over_pages(portal):
    events = [{"at": f"2026-03-02T10:{i // 60:02d}:{i % 60:02d}Z", "event": "viewed", "actor": f"Gebruiker {i}",
               "method": "", "ip": f"192.0.2.{i % 250}"} for i in range(120)]
    pages = pdf_pages(base64.b64decode(portal.rpc.letters.render_certificate(
        payload=_evidence(events))["pdf_base64"]))
    assert len(pages) > 1
    assert "Gebruiker 119" in "\n".join(pages) and "Tijd (UTC)" in pages[1]


def test_certificate_refuses_a_bad_hash(portal):
    with pytest.raises(Exception) as caught:
        portal.rpc.letters.render_certificate(payload=dict(_evidence(), sha256="nothex"))
    assert type(caught.value).__name__ == "Invalid"
