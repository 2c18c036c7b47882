"""The import wizard as staff web pages under /kantoor/import, used the way a browser does (the Browser of
tests/gateway/test_pages.py: forms posted with the browser's Origin, the session cookie from /inloggen):
upload a CSV holding a new client, an update of an existing one, an invalid row and a repeated client number;
the page until "ready"; the summary and the Dutch reasons; commit with a client group; the page until done; the
clients through the API. Hostile cell values show as text; a file that is not what its extension says, or too
big, is a Dutch page with its status; a client user gets 403; a cross-site post is refused."""
import datetime as dt
import html
import re
import time
import uuid

import sqlalchemy as sa

from tests.approval.helpers import World
from tests.gateway.test_pages import EVIL, Browser, find_form, log_in, new_user
from tests.gateway.test_staff_pages import NOT_STAFF, admin_browser, alert, staff_browser
from tests.identity.helpers import Firm
from tests.importer.files import csv_bytes

HOSTILE = '<script>alert("x")</script>'


def upload(browser, filename, content, expect=200, **form):
    answer = browser.post("/kantoor/import", data=form, files={"file": (filename, content, "text/csv")})
    assert answer.status_code == expect, (answer.status_code, answer.text)
    return answer


def import_id_of(answer) -> int:
    match = re.search(r"/kantoor/import/(\d+)\?melding=ontvangen$", answer.url)
    assert match, answer.url
    return int(match.group(1))


def wait_for(browser, import_id, word, timeout=90):
    """Poll the import's page, as a person would, until its status reads ``word``."""
    deadline = time.monotonic() + timeout
    while True:
        page = browser.get(f"/kantoor/import/{import_id}")
        assert page.status_code == 200, page.text
        if f"<dd>{word}" in page.text:
            return page
        assert "<dd>mislukt</dd>" not in page.text, alert(page.text)
        busy = re.search(r"<dd>(wordt gelezen|wordt doorgevoerd) \(\d+ van \d+\)</dd>", page.text)
        if busy:  # while the importer works the page refreshes itself
            assert '<meta http-equiv="refresh" content="2">' in page.text.split("</head>")[0]
        assert time.monotonic() < deadline, page.text
        time.sleep(0.3)


def clients_of(world) -> dict:
    answer = world.admin.get("/api/v1/clients", params={"per_page": 500})
    assert answer.status_code == 200, answer.text
    return {c["number"]: c for c in answer.json()["items"]}


def client_group(world, name) -> int:
    answer = world.admin.post("/api/v1/groups", json={"name": name, "kind": "client", "rights": ["approval"]})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


# -- tests ---------------------------------------------------------------------------------------------------

def test_staff_import_a_file_preview_commit_with_a_group(portal):
    world = World(portal)
    tag = uuid.uuid4().hex[:6].upper()
    existing = portal.rpc.identity.create_client(principal=world.admin_principal, payload={
        "number": f"B{tag}", "name": f"Bestaand {tag} BV", "branch_id": world.branch_ids[0], "city": "Utrecht",
        "email": "info@bestaand.nl"})
    group_id = client_group(world, f"Nieuw {tag}")
    client_group(world, f"Andere groep {tag}")
    rows = [
        [f"N{tag}", f"Nieuw {tag} BV", "1234567", "1234ab", "Zeist", "nieuw@example.nl", "06 12345678"],  # new
        [f"B{tag}", f"Bestaand {tag} BV", "", "", "Amersfoort", "", ""],  # update: only the city changes
        [f"F{tag}", "Fout BV", "123456789", "12 AB", "", "geen-mail", ""],  # invalid fields
        [f"N{tag}", HOSTILE, "", "", "", "", ""],  # repeated client number, a hostile name
    ]
    browser = admin_browser(world)

    home = browser.get("/kantoor/import")
    assert home.status_code == 200 and "<h1>Cliënten importeren</h1>" in home.text
    assert 'href="/api/v1/imports/template"' in home.text and "Er zijn nog geen imports." in home.text
    assert 'href="/kantoor/import" aria-current="page"' in home.text  # the staff links, with Import
    form = find_form(home.text, "/kantoor/import")
    assert form["method"] == "post" and {"file", "branch_id"} <= form["fields"]
    assert 'enctype="multipart/form-data"' in home.text
    for branch_id in world.branch_ids:  # a firm-wide admin of a multi-branch firm may choose the branch
        assert f'<option value="{branch_id}">' in home.text
    template = browser.get("/api/v1/imports/template")  # the API's download takes the cookie
    assert template.status_code == 200 and template.content.startswith(b"PK")

    received = upload(browser, "klanten.csv", csv_bytes(rows, delimiter=";"), branch_id="")
    import_id = import_id_of(received)
    ready = wait_for(browser, import_id, "klaar om door te voeren")
    text = ready.text
    assert "<title>Import klanten.csv" in text
    assert re.search(r"<dt>Nieuw</dt><dd>1</dd><dt>Bijwerken</dt><dd>1</dd><dt>Ongewijzigd</dt><dd>0</dd>"
                     r"<dt>Ongeldig</dt><dd>2</dd>", text), text
    assert '<meta http-equiv="refresh"' not in text  # ready: nothing to wait for
    # the invalid rows with their Dutch reason per field
    assert "Ongeldige rijen (worden niet doorgevoerd) (2)" in text
    assert "KvK-nummer: Een KvK-nummer bestaat uit 8 cijfers." in text
    assert "Postcode: Een Nederlandse postcode ziet eruit als 1234 AB." in text
    assert "E-mail: Ongeldig e-mailadres." in text
    assert re.search(r"Cliëntnummer: Dubbel cliëntnummer", text), text
    # the hostile cell is text, never markup
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    # the update with the field that changes, the new client
    assert "Rijen die een bestaande cliënt bijwerken (1)" in text and "Plaats: Utrecht → Amersfoort" in text
    assert "Nieuwe cliënten (1)" in text and f"Nieuw {tag} BV" in text

    commit = find_form(text, f"/kantoor/import/{import_id}/doorvoeren")
    assert commit["method"] == "post" and "group_id" in commit["fields"]
    assert f'<option value="{group_id}">Nieuw {tag}</option>' in text
    wrong = browser.submit(ready, f"/kantoor/import/{import_id}/doorvoeren", {"group_id": "999999999"})
    assert wrong.status_code == 422 and "Deze cliëntgroep bestaat niet." in alert(wrong.text), wrong.text
    assert clients_of(world)[f"B{tag}"]["city"] == "Utrecht"  # nothing committed

    committed = browser.submit(ready, f"/kantoor/import/{import_id}/doorvoeren", {"group_id": str(group_id)})
    assert committed.status_code == 200 and committed.url.endswith(f"/kantoor/import/{import_id}?melding=doorvoeren")
    done = wait_for(browser, import_id, "doorgevoerd")
    assert "De import is doorgevoerd." in done.text
    assert re.search(r"<dt>Aangemaakt</dt><dd>1</dd><dt>Bijgewerkt</dt><dd>1</dd><dt>Ongewijzigd</dt><dd>0</dd>"
                     r"<dt>Mislukt</dt><dd>0</dd>", done.text), done.text
    assert f"<dt>Cliëntgroep voor nieuwe cliënten</dt><dd>Nieuw {tag}</dd>" in done.text
    assert f'action="/kantoor/import/{import_id}/doorvoeren"' not in done.text
    assert "<script" not in done.text.lower()
    again = browser.submit(ready, f"/kantoor/import/{import_id}/doorvoeren", {"group_id": str(group_id)})
    assert again.status_code == 409 and alert(again.text).strip()  # importer's refusal: not ready any more

    clients = clients_of(world)
    assert clients[f"N{tag}"]["name"] == f"Nieuw {tag} BV" and clients[f"N{tag}"]["kvk"] == "01234567"
    assert clients[f"N{tag}"]["group_id"] == group_id  # the new client is in the group
    assert clients[f"B{tag}"]["id"] == existing["id"] and clients[f"B{tag}"]["city"] == "Amersfoort"
    assert clients[f"B{tag}"]["email"] == "info@bestaand.nl" and clients[f"B{tag}"]["group_id"] is None
    assert f"F{tag}" not in clients and all("script" not in c["name"] for c in clients.values())

    # a row that moves the client to another branch: the preview names both branches, not their ids
    moving = upload(browser, "verhuizing.csv", csv_bytes([[f"B{tag}", f"Bestaand {tag} BV", "Utrecht"]],
                                                         headers=["Cliëntnummer", "Naam", "Vestiging"]))
    moved = wait_for(browser, import_id_of(moving), "klaar om door te voeren")
    assert "Vestiging: Amsterdam → Utrecht" in moved.text, moved.text

    listing = browser.get("/kantoor/import")
    assert f'<a href="/kantoor/import/{import_id}">klanten.csv</a>' in listing.text
    assert "1 nieuw, 1 bijwerken, 0 ongewijzigd, 2 ongeldig; 1 aangemaakt, 1 bijgewerkt" in listing.text
    assert "<td>doorgevoerd</td>" in listing.text


def test_refused_files_are_dutch_pages_and_a_busy_import_refreshes(portal, db_engine, monkeypatch):
    world = World(portal)
    browser = admin_browser(world)
    rows = [["000301", "Echt BV", "", "", "Utrecht", "", ""]]

    fake = upload(browser, "klanten.xlsx", csv_bytes(rows), expect=415)  # a CSV that calls itself .xlsx
    assert alert(fake.text).strip() and "Traceback" not in fake.text
    assert fake.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert find_form(fake.text, "/kantoor/import")  # the upload form again, to try another file
    exe = upload(browser, "klanten.csv", b"MZ\x90\x00" + b"\x01" * 100, expect=415)
    assert alert(exe.text).strip()
    nul = upload(browser, "nul.csv", b"Clientnummer;Naam\r\n1;A\x00\r\n", expect=422)
    assert alert(nul.text).strip()
    missing = upload(browser, "geen.csv", csv_bytes([["A", "Utrecht"]], headers=["Naam", "Plaats"]), expect=422)
    assert "Cliëntnummer" in alert(missing.text)
    bad_branch = upload(browser, "klanten.csv", csv_bytes(rows), expect=422, branch_id="geen")
    assert "Kies een vestiging uit de lijst." in alert(bad_branch.text)
    # the API's own size limit (patched small here: it is read at each upload), before the body is read
    monkeypatch.setattr("gateway.routes.importer.MAX_IMPORT_BYTES", 1024)
    big = upload(browser, "groot.csv", csv_bytes([[str(i), f"Client {i}", "", "", "", "", ""]
                                                  for i in range(3000)]), expect=413)
    assert "te groot" in alert(big.text)
    monkeypatch.undo()
    assert "000301" not in clients_of(world)

    # the refused uploads are listed as failed; one of them made to look busy, waiting for identity
    listing = browser.get("/kantoor/import")
    assert listing.text.count("<td>mislukt</td>") >= 3
    first = int(re.findall(r'href="/kantoor/import/(\d+)"', listing.text)[-1])
    failed = browser.get(f"/kantoor/import/{first}")
    assert failed.status_code == 200 and "Deze import is mislukt:" in alert(failed.text)
    with db_engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE importer.imports SET status = 'parsing', progress_done = 3, progress_total = 10, "
            "lease_owner = 'test', lease_until = :later, summary = CAST(:summary AS json) WHERE id = :id"),
            {"id": first, "later": dt.datetime.utcnow() + dt.timedelta(hours=1),
             "summary": '{"waiting": {"service": "identity", "message": "Wacht op de cliëntenadministratie <b>",'
                        ' "since": "2026-01-01T00:00:00Z"}}'})
    try:
        busy = browser.get(f"/kantoor/import/{first}")
        assert busy.status_code == 200 and "<dd>wordt gelezen (3 van 10)</dd>" in busy.text
        head = busy.text.split("</head>")[0]
        assert '<meta http-equiv="refresh" content="2">' in head
        assert "Wacht op de cliëntenadministratie &lt;b&gt;" in busy.text
        assert "script-src" not in busy.headers["Content-Security-Policy"]
    finally:
        with db_engine.begin() as conn:
            conn.execute(sa.text("UPDATE importer.imports SET status = 'failed', lease_owner = NULL, "
                                 "lease_until = NULL WHERE id = :id"), {"id": first})


def test_a_client_user_gets_403_and_staff_without_beheer_the_refusal(portal):
    world = World(portal)
    client = world.client("Klant Import BV")
    user = new_user(world, client["id"], "Kees Import")
    portal.rpc.identity.activate(payload={"username": user["username"], "activation_code": user["activation_code"],
                                          "password": user["password"]})
    admin = admin_browser(world)
    import_id = import_id_of(upload(admin, "k.csv", csv_bytes([["000401", "Klant A", "", "", "", "", ""]])))
    wait_for(admin, import_id, "klaar om door te voeren")

    visitor = Browser(portal)
    answer = visitor.get("/kantoor/import", allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/inloggen")

    browser = log_in(portal, user)
    for path in ("/kantoor/import", f"/kantoor/import/{import_id}"):
        answer = browser.get(path)
        assert answer.status_code == 403 and NOT_STAFF in alert(answer.text), (path, answer.status_code)
    answer = browser.post("/kantoor/import", files={"file": ("k.csv", csv_bytes([["000402", "Klant B"] + [""] * 5]))})
    assert answer.status_code == 403 and NOT_STAFF in alert(answer.text)
    answer = browser.post(f"/kantoor/import/{import_id}/doorvoeren", data={"group_id": ""})
    assert answer.status_code == 403 and NOT_STAFF in alert(answer.text)
    assert "klaar om door te voeren" in admin.get(f"/kantoor/import/{import_id}").text
    assert len(world.admin.get("/api/v1/imports").json()["items"]) == 1

    # staff of a branch without 'Beheer': no branch choice, no upload form; a post is refused before it is read
    firm = Firm(portal)
    staff = firm.staff(branch_index=1)
    other = staff_browser(portal, staff["username"], staff["password"])
    home = other.get("/kantoor/import")
    assert home.status_code == 200 and "vraagt het recht 'Beheer'" in html.unescape(home.text)
    assert 'name="branch_id"' not in home.text
    refused = upload(other, "k.csv", csv_bytes([["000403", "Klant C", "", "", "", "", ""]]), expect=403)
    assert "Importeren vraagt het recht 'Beheer'." in alert(refused.text)
    assert other.get("/kantoor/import").text.count("Klant C") == 0  # nothing was imported
    hidden = other.get(f"/kantoor/import/{import_id}")  # another firm's import
    assert hidden.status_code == 404 and "Deze import bestaat niet." in alert(hidden.text)


def test_cross_site_posts_are_refused(portal):
    world = World(portal)
    browser = admin_browser(world)
    content = csv_bytes([["000501", "Vals BV", "", "", "", "", ""]])
    forged = browser.post("/kantoor/import", files={"file": ("k.csv", content)}, headers={"Origin": EVIL},
                          allow_redirects=False)
    assert forged.status_code == 403 and "niet van het portaal" in alert(forged.text)
    bare = browser.post("/kantoor/import", files={"file": ("k.csv", content)}, headers={"Origin": None},
                        allow_redirects=False)
    assert bare.status_code == 403
    assert world.admin.get("/api/v1/imports").json()["items"] == []

    import_id = import_id_of(upload(browser, "k.csv", content))
    ready = wait_for(browser, import_id, "klaar om door te voeren")
    action = f"/kantoor/import/{import_id}/doorvoeren"
    forged = browser.post(action, data={"group_id": ""}, headers={"Origin": EVIL}, allow_redirects=False)
    assert forged.status_code == 403 and "niet van het portaal" in alert(forged.text)
    again = browser.get(action, allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"] == f"/kantoor/import/{import_id}"
    assert "klaar om door te voeren" in browser.get(f"/kantoor/import/{import_id}").text
    assert "000501" not in clients_of(world)
    assert find_form(ready.text, action)


def test_only_the_ticked_rows_are_committed(portal):
    """SPEC §3: the wizard lets staff choose rows. A box per new or updating row belongs to the commit form;
    'only the rows I tick' commits exactly those, and nothing ticked is refused in Dutch."""
    world = World(portal)
    tag = uuid.uuid4().hex[:6].upper()
    rows = [[f"K{tag}{i}", f"Keuze {tag} {i} BV", "", "", "Zeist", "", ""] for i in range(3)]
    browser = admin_browser(world)
    import_id = import_id_of(upload(browser, "keuze.csv", csv_bytes(rows)))
    ready = wait_for(browser, import_id, "klaar om door te voeren")
    boxes = re.findall(r'<input type="checkbox" id="rij-(\d+)" name="rijen" value="\d+" form="doorvoeren">', ready.text)
    assert len(boxes) == 3, ready.text
    assert 'id="doorvoeren"' in ready.text and 'name="keuze" value="gekozen"' in ready.text
    none = browser.post(f"/kantoor/import/{import_id}/doorvoeren", data={"keuze": "gekozen"})
    assert none.status_code == 422 and "Vink ten minste één rij aan" in alert(none.text)
    chosen = browser.post(f"/kantoor/import/{import_id}/doorvoeren", data={"keuze": "gekozen", "rijen": boxes[1]})
    assert chosen.status_code == 200 and chosen.url.endswith("?melding=doorvoeren"), chosen.url
    done = wait_for(browser, import_id, "doorgevoerd")
    assert re.search(r"<dt>Aangemaakt</dt><dd>1</dd>", done.text), done.text
    numbers = set(clients_of(world))
    assert f"K{tag}1" in numbers and f"K{tag}0" not in numbers and f"K{tag}2" not in numbers
