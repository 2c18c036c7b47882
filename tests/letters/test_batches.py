"""Letter batches end to end: real letters service, identity (branch layout), gateway, RabbitMQ, PostgreSQL."""
import base64
import io

import sqlalchemy as sa
from nameko.testing.services import entrypoint_hook
from PIL import Image

from tests.fixtures import shows_secret
from tests.letters.helpers import container, letter, pdf_pages, staff, wait_done

POSTCODES = ["9711 AB", "1011 ab", "3511AX", "2514 EG", "1011 AA", "7411 KT"]


def _admin(portal, **kwargs):
    firm = portal.create_firm(**kwargs)
    api = portal.login(firm["admin"]["username"], firm["admin"]["password"])
    token = api.headers["Authorization"].split()[1]
    principal = portal.rpc.identity.authenticate(token=token)
    return firm, api, principal


def test_pin_batch_in_postcode_order_with_right_pin_on_right_page(portal, db_engine):
    firm, api, principal = _admin(portal, branches=["Amsterdam", "Utrecht"])
    branch_id = firm["branch_ids"][1]
    letters = [letter(i, pc) for i, pc in enumerate(POSTCODES)]
    created = portal.rpc.letters.create_batch(principal=principal,
                                              payload={"kind": "pin", "branch_id": branch_id, "letters": letters})
    assert created["total"] == len(letters) and created["status"] in ("queued", "rendering")
    batch_id = created["batch_id"]

    status = wait_done(lambda: api.get(f"/api/v1/letters/{batch_id}").json())
    assert status["status"] == "done", status
    assert status["done"] == status["total"] == len(letters)
    assert status["printed_at"] is None

    # mailing order: by postcode; every letter one page, page ranges per request index
    ranges = {p["letter"]: (p["first_page"], p["last_page"]) for p in status["pages"]}
    assert sorted(ranges) == list(range(len(letters)))
    assert all(first == last for first, last in ranges.values())
    by_page = sorted(ranges, key=lambda i: ranges[i][0])
    compact = ["".join(pc.split()).upper() for pc in POSTCODES]
    assert [compact[i] for i in by_page] == sorted(compact)

    response = api.get(f"/api/v1/letters/{batch_id}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    pages = pdf_pages(response.content)
    assert len(pages) == len(letters)
    for i, data in enumerate(letters):
        text = pages[ranges[i][0] - 1]
        assert f"PIN-code: {data['secret']}" in text
        assert f"Gebruikersnaam: {data['username']}" in text
        assert data["recipient_name"] in text and data["client_name"] in text
        assert f"Dorpsstraat {i + 1}" in text
        pc = "".join(data["postcode"].split()).upper()
        assert f"{pc[:4]} {pc[4:]}  UTRECHT" in text or f"{pc[:4]} {pc[4:]} UTRECHT" in text
        assert "Utrecht" in text  # the branch's name from identity's branch_layout
        others = [d["secret"] for j, d in enumerate(letters) if j != i]
        assert not any(other in text for other in others)

    # first download marks it printed (once)
    printed = api.get(f"/api/v1/letters/{batch_id}").json()["printed_at"]
    assert printed is not None
    assert api.get(f"/api/v1/letters/{batch_id}/pdf").status_code == 200
    assert api.get(f"/api/v1/letters/{batch_id}").json()["printed_at"] == printed

    # the clear PINs are nowhere in the letters schema: letters wiped, PDF chunks encrypted
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM letters.batch_letters WHERE batch_id = :b"),
                            {"b": batch_id}).scalar() == len(letters)
        assert conn.execute(sa.text("SELECT count(*) FROM letters.letter_blocks WHERE batch_id = :b"),
                            {"b": batch_id}).scalar() == 0
        chunks = b"".join(bytes(c) for c in conn.execute(sa.text(
            "SELECT data FROM letters.pdf_chunks WHERE batch_id = :b ORDER BY seq"), {"b": batch_id}).scalars())
        dump = b" ".join(str(row).encode() for row in conn.execute(sa.text(
            "SELECT * FROM letters.batches WHERE id = :b"), {"b": batch_id}))
        events = " ".join(str(p) for p in conn.execute(sa.text("SELECT payload FROM letters.outbox")).scalars())
    assert chunks and not chunks.startswith(b"%PDF")
    for data in letters:
        assert data["secret"].encode() not in chunks and data["secret"].encode() not in dump
        assert not shows_secret(events, data["secret"])


def test_batch_is_visible_only_to_staff_of_its_firm_and_branch(portal):
    firm, api, principal = _admin(portal, branches=["Amsterdam", "Utrecht"])
    amsterdam, utrecht = firm["branch_ids"]
    other_firm, other_api, _ = _admin(portal, branches=["Elders"])
    created = portal.rpc.letters.create_batch(principal=staff(firm["firm_id"], amsterdam),
                                              payload={"kind": "pin", "letters": [letter(0, "1011 AB")]})
    batch_id = created["batch_id"]
    wait_done(lambda: portal.rpc.letters.batch_status(principal=principal, batch_id=batch_id))

    # same branch and firm-wide staff see it
    assert portal.rpc.letters.batch_status(principal=staff(firm["firm_id"], amsterdam), batch_id=batch_id)["id"] \
        == batch_id
    assert api.get(f"/api/v1/letters/{batch_id}").status_code == 200  # the admin is firm-wide
    # another branch, another firm, a client: 404, as if it did not exist
    for p in (staff(firm["firm_id"], utrecht), staff(other_firm["firm_id"]),
              {"kind": "client", "user_id": 5, "firm_id": firm["firm_id"], "client_ids": [1]}):
        try:
            portal.rpc.letters.batch_pdf(principal=p, batch_id=batch_id)
        except Exception as exc:
            assert type(exc).__name__ == "BatchNotFound", exc
        else:
            raise AssertionError("batch visible outside its scope")
    response = other_api.get(f"/api/v1/letters/{batch_id}/pdf")
    assert response.status_code == 404 and response.json()["error"] == "batch_not_found"
    assert other_api.get(f"/api/v1/letters/{batch_id}").status_code == 404
    assert portal.api().get(f"/api/v1/letters/{batch_id}").status_code == 401
    # not printed by any of the refused attempts
    assert api.get(f"/api/v1/letters/{batch_id}").json()["printed_at"] is None

    # a branch staff member cannot make letters for another branch either
    try:
        portal.rpc.letters.create_batch(principal=staff(firm["firm_id"], amsterdam),
                                        payload={"kind": "pin", "branch_id": utrecht, "letters": [letter(0, "1011 AB")]})
    except Exception as exc:
        assert type(exc).__name__ == "BatchNotFound", exc
    else:
        raise AssertionError("letters for another branch accepted")


def test_activation_letter_uses_branch_layout_and_long_address_fits_one_page(portal):
    firm, api, principal = _admin(portal, branches=["Amsterdam"])
    branch_id = firm["branch_ids"][0]
    logo = io.BytesIO()
    Image.new("RGB", (240, 80), (20, 90, 160)).save(logo, "PNG")
    patch = api.patch(f"/api/v1/branches/{branch_id}", json={
        "display_name": "Van Dijk & Partners Accountants", "primary_color": "#0b5d3b",
        "street": "Keizersgracht", "house_number": "123", "postcode": "1015 CJ", "city": "Amsterdam",
        "logo_png": base64.b64encode(logo.getvalue()).decode()})
    assert patch.status_code == 200, patch.text
    long_name = "Maximiliaan Alexander Constantijn van Oranje-Nassau tot Amsberg-Lippe-Biesterfeld " * 3
    long_client = "Holding Maatschappij Internationale Handelsonderneming der Verenigde Provinciën B.V. " * 3
    letters = [letter(0, "2803 PA", pin="ACT-7QK2-PL9X", recipient_name=long_name, client_name=long_client,
                      street="Burgemeester van Reenensingel Westelijke Parallelweg " * 3, city="Gouda"),
               letter(1, "1015 CJ", pin="ACT-AAAA-BBBB")]
    created = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "activation", "branch_id": branch_id, "letters": letters})
    status = wait_done(lambda: api.get(f"/api/v1/letters/{created['batch_id']}").json())
    assert status["status"] == "done", status
    pages = pdf_pages(api.get(f"/api/v1/letters/{created['batch_id']}/pdf").content)
    assert len(pages) == 2  # the long letter still fits one page
    page_of = {p["letter"]: p["first_page"] for p in status["pages"]}
    long_page = pages[page_of[0] - 1]
    assert "Activeringscode: ACT-7QK2-PL9X" in long_page
    assert "2803 PA  GOUDA" in long_page or "2803 PA GOUDA" in long_page  # postcode line always kept
    assert "Van Dijk & Partners Accountants" in long_page
    assert "Keizersgracht 123" in long_page
    assert "Zo logt u de eerste keer in" in long_page and "Zo accordeert u een stuk" in long_page


def test_purge_after_retention_removes_the_pdf(portal, db_engine):
    firm, api, principal = _admin(portal, branches=["Amsterdam"])
    created = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "pin", "branch_id": firm["branch_ids"][0], "letters": [letter(0, "1011 AB")]})
    batch_id = created["batch_id"]
    wait_done(lambda: api.get(f"/api/v1/letters/{batch_id}").json())
    with entrypoint_hook(container(portal, "letters"), "purge_expired") as purge:
        purge()
    assert api.get(f"/api/v1/letters/{batch_id}/pdf").status_code == 200  # young batches stay
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE letters.batches SET created_at = created_at - interval '31 days' WHERE id = :b"),
                     {"b": batch_id})
    with entrypoint_hook(container(portal, "letters"), "purge_expired") as purge:
        assert purge() >= 1
    response = api.get(f"/api/v1/letters/{batch_id}/pdf")
    assert response.status_code == 410 and response.json()["error"] == "batch_purged"
    assert api.get(f"/api/v1/letters/{batch_id}").json()["status"] == "purged"
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM letters.pdf_chunks WHERE batch_id = :b"),
                            {"b": batch_id}).scalar() == 0


def test_progress_is_visible_while_a_big_batch_renders(portal):
    """Rendering yields to the hub: status RPCs are answered mid-render, with progress."""
    firm, api, principal = _admin(portal, branches=["Amsterdam"])
    letters = [letter(i, f"{1000 + i % 8999} AB") for i in range(1500)]
    created = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "pin", "branch_id": firm["branch_ids"][0], "letters": letters})
    seen = []
    status = wait_done(lambda: seen.append(portal.rpc.letters.batch_status(
        principal=principal, batch_id=created["batch_id"])) or seen[-1], timeout=300)
    assert status["status"] == "done"
    assert any(s["status"] == "rendering" and 0 < s["done"] < s["total"] for s in seen), \
        [(s["status"], s["done"]) for s in seen]
    assert len(pdf_pages(api.get(f"/api/v1/letters/{created['batch_id']}/pdf").content)) == 1500


def test_invalid_batch_is_refused_with_422(portal):
    firm, api, principal = _admin(portal, branches=["Amsterdam"])
    try:
        portal.rpc.letters.create_batch(principal=principal, payload={
            "kind": "brief", "branch_id": firm["branch_ids"][0], "letters": []})
    except Exception as exc:
        assert type(exc).__name__ == "Invalid"
        assert set(exc.args[1]["fields"]) >= {"kind", "letters"}
    else:
        raise AssertionError("invalid batch accepted")


def test_letters_on_another_firms_letterhead_are_refused(portal, db_engine):
    firm, api, principal = _admin(portal, branches=["Amsterdam"])
    other = portal.create_firm(branches=["Elders"])
    created = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "pin", "branch_id": other["branch_ids"][0], "letters": [letter(0, "1011 AB")]})
    status = wait_done(lambda: api.get(f"/api/v1/letters/{created['batch_id']}").json())
    assert status["status"] == "failed" and "kantoor" in status["error"]
    response = api.get(f"/api/v1/letters/{created['batch_id']}/pdf")
    assert response.status_code == 409 and response.json()["error"] == "batch_not_ready"
    with db_engine.connect() as conn:  # nothing of it is kept
        assert conn.execute(sa.text("SELECT count(*) FROM letters.letter_blocks WHERE batch_id = :b"),
                            {"b": created["batch_id"]}).scalar() == 0


def test_a_tampered_pdf_chunk_is_refused_not_served(portal, db_engine):
    firm, api, principal = _admin(portal, branches=["Amsterdam"])
    created = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "pin", "branch_id": firm["branch_ids"][0], "letters": [letter(i, "1011 AB") for i in range(3)]})
    wait_done(lambda: api.get(f"/api/v1/letters/{created['batch_id']}").json())
    other = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "pin", "branch_id": firm["branch_ids"][0], "letters": [letter(9, "9999 ZZ")]})
    wait_done(lambda: api.get(f"/api/v1/letters/{other['batch_id']}").json())
    # another batch's (validly encrypted) chunk put in place of this one's
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE letters.pdf_chunks SET data = (SELECT data FROM letters.pdf_chunks "
                             "WHERE batch_id = :o AND seq = 0) WHERE batch_id = :b AND seq = 0"),
                     {"o": other["batch_id"], "b": created["batch_id"]})
    response = api.get(f"/api/v1/letters/{created['batch_id']}/pdf")
    assert response.status_code == 503 and response.json()["error"] == "batch_unreadable"
    assert api.get(f"/api/v1/letters/{created['batch_id']}").json()["printed_at"] is None
