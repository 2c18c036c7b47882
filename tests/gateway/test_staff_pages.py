"""The web pages for staff under /kantoor, used the way a browser does (tests/gateway/test_pages.py's Browser:
forms posted with the browser's Origin, the session cookie from /inloggen): search a client, open it, create a
client user whose activation letter is followed to "klaar" and downloaded, PIN letters, a document offered for
approval; a client user gets 403; staff without the 'users' right get identity's refusal; a cross-site post is
refused; no secret in any URL or page."""
import html
import re
import time
import uuid

import sqlalchemy as sa

from tests.approval.helpers import World, make_pdf, pdf_text
from tests.fixtures import shows_secret
from tests.gateway.test_pages import (EVIL, Browser, activated, assert_no_secret_in_urls, find_form, log_in,
                                      new_user, parse, status_of)
from tests.gateway.test_pages import alert as _alert
from tests.identity.helpers import Firm, letter_secrets

NOT_STAFF = "Deze pagina's zijn alleen voor medewerkers van het kantoor."


def alert(text) -> str:
    return html.unescape(_alert(text))


class PageBrowser(Browser):
    """A Browser that keeps every page's text, to look for secrets in them."""

    def __init__(self, portal):
        super().__init__(portal)
        self.texts = []
        self.hooks["response"].append(lambda response, *a, **k: self.texts.append(response.text))


def staff_browser(portal, username, password) -> PageBrowser:
    browser = PageBrowser(portal)
    page = browser.get("/inloggen")
    done = browser.submit(page, "/inloggen", {"username": username, "password": password})
    assert done.status_code == 200, (done.status_code, done.text)
    return browser


def admin_browser(world) -> PageBrowser:
    return staff_browser(world.portal, world.firm["admin"]["username"], world.firm["admin"]["password"])


def batch_link(text) -> str:
    return re.search(r'href="(/kantoor/brieven/\d+)"', text).group(1)


def wait_until_done(browser, link, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        if "<dd>klaar</dd>" in page.text:
            return page
        assert "mislukt" not in page.text and "vervallen" not in page.text, page.text
        assert re.search(r"<dd>(wacht op bevestiging|in de wachtrij|wordt aangemaakt \(\d+ van \d+\))</dd>",
                         page.text), page.text
        assert time.monotonic() < deadline, page.text
        time.sleep(0.3)


def download(browser, page) -> bytes:
    link = re.search(r'href="(/api/v1/letters/\d+/pdf)"', page.text).group(1)
    pdf = browser.get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    return pdf.content


def users_of(world, client_id) -> list:
    return world.admin.get(f"/api/v1/clients/{client_id}/users").json()["items"]


# -- tests ---------------------------------------------------------------------------------------------------

def test_staff_search_a_client_open_it_and_create_a_user_by_letter(portal):
    world = World(portal)
    tag = uuid.uuid4().hex[:6]
    client = portal.rpc.identity.create_client(principal=world.admin_principal, payload={
        "number": f"K{tag}", "name": f"Bakkerij Zoek {tag} BV", "branch_id": world.branch_ids[0],
        "city": "Haarlem", "bsn": "111222333", "kvk": "01234567"})
    browser = admin_browser(world)

    home = browser.get("/kantoor")
    assert home.status_code == 200 and "<h1>Kantoor</h1>" in home.text and 'lang="nl"' in home.text
    assert 'href="/kantoor/clienten"' in home.text and 'action="/uitloggen"' in home.text
    assert home.headers["Content-Security-Policy"].startswith("default-src 'none'")

    found = browser.get("/kantoor/clienten", params={"q": f"zoek {tag}"})
    assert found.status_code == 200
    row = re.search(r"<tr><td>(.*?)</td><td><a href=\"(/kantoor/clienten/\d+)\">(.*?)</a></td><td>(.*?)</td>"
                    r"<td>(.*?)</td></tr>", found.text)
    assert row and row.groups() == (f"K{tag}", f"/kantoor/clienten/{client['id']}", f"Bakkerij Zoek {tag} BV",
                                    "Amsterdam", "Haarlem"), found.text
    nothing = browser.get("/kantoor/clienten", params={"q": f"bestaat-niet-{tag}"})
    assert nothing.status_code == 200 and "Geen cliënten gevonden." in nothing.text

    detail = browser.get(row.group(2))
    assert detail.status_code == 200
    assert f"Bakkerij Zoek {tag} BV" in detail.text and "<dd>******333</dd>" in detail.text
    assert "111222333" not in detail.text and "<dd>01234567</dd>" in detail.text
    assert "Deze cliënt heeft nog geen gebruikers." in detail.text
    for action in (f"/kantoor/clienten/{client['id']}/gebruikers", f"/kantoor/clienten/{client['id']}/documenten"):
        assert find_form(detail.text, action)["method"] == "post"
    parsed = parse(detail.text)
    for element in parsed.inputs:  # every visible input has its label
        if element.get("type") != "hidden":
            assert element.get("id") in parsed.labels, element

    # a new user, its activation code by letter: the page links to the batch, the batch becomes "klaar"
    missing = browser.submit(detail, f"/kantoor/clienten/{client['id']}/gebruikers", {"name": "  "})
    assert missing.status_code == 422 and "Vul de naam van de gebruiker in." in alert(missing.text)
    bad_mail = browser.submit(detail, f"/kantoor/clienten/{client['id']}/gebruikers",
                              {"name": "Petra Zoek", "email": "geen-adres", "delivery": "letter"})
    assert bad_mail.status_code == 422, bad_mail.text
    assert "Geen geldig e-mailadres." in alert(bad_mail.text)  # marshmallow's own message, in Dutch
    assert 'value="Petra Zoek"' in bad_mail.text  # the form keeps what was typed
    created = browser.submit(detail, f"/kantoor/clienten/{client['id']}/gebruikers",
                             {"name": "Petra Zoek", "email": "petra@example.nl", "mobile": "06 12345678",
                              "superuser": "1", "delivery": "letter"})
    assert created.status_code == 200 and re.search(rf"/kantoor/clienten/{client['id']}\?nieuw=\d+&brief=\d+$",
                                                    created.url), created.url
    assert "Gebruiker Petra Zoek" in created.text and "is aangemaakt" in created.text
    [user] = users_of(world, client["id"])
    assert user["name"] == "Petra Zoek" and user["superuser"] and user["mobile"] == "+31612345678"
    assert user["username"] in created.text and "nog niet geactiveerd" in created.text

    link = batch_link(created.text)
    ready = wait_until_done(browser, link)
    assert "<h1>Activeringsbrieven</h1>" in ready.text and "De eerste download markeert de brieven" in ready.text
    assert "Afgedrukt" not in ready.text
    text = pdf_text(download(browser, ready))
    assert "Activeringscode:" in text and user["username"] in text
    code = re.search(r"Activeringscode:\s*(\S+)", text).group(1)
    assert "Afgedrukt (gedownload) op" in browser.get(link).text  # the first download marked it printed

    # by e-mail: no letter, the page says so
    mailed = browser.submit(detail, f"/kantoor/clienten/{client['id']}/gebruikers",
                            {"name": "Mail Zoek", "email": "mail.zoek@example.nl", "delivery": "email"})
    assert mailed.status_code == 200 and "per e-mail verstuurd" in mailed.text, mailed.text
    assert "/kantoor/brieven/" not in mailed.text and "brief=" not in mailed.url

    assert_no_secret_in_urls(browser, code, browser.cookies.get("akkoord_session"),
                             world.firm["admin"]["password"])
    for page_text in browser.texts:
        assert code not in page_text


def test_client_search_pages(portal):
    world = World(portal)
    tag = uuid.uuid4().hex[:8]
    for index in range(53):
        portal.rpc.identity.create_client(principal=world.admin_principal, payload={
            "number": f"P{tag}{index:02d}", "name": f"Reeks {tag} {index:02d}", "branch_id": world.branch_ids[1]})
    browser = admin_browser(world)
    first = browser.get("/kantoor/clienten", params={"q": tag})
    assert first.status_code == 200 and "53 cliënten" in first.text and "Pagina 1 van 2" in first.text
    assert first.text.count('<tr><td>') == 50
    following = re.search(r'<a href="([^"]+)">Volgende</a>', first.text).group(1).replace("&amp;", "&")
    second = browser.get(following)
    assert second.status_code == 200 and "Pagina 2 van 2" in second.text and second.text.count("<tr><td>") == 3
    assert f"Reeks {tag} 52" in second.text and ">Vorige</a>" in second.text and "Volgende" not in second.text
    everyone = browser.get("/kantoor/clienten")  # the empty box: every visible client, by name
    assert everyone.status_code == 200 and "<table>" in everyone.text


def test_staff_issue_pin_letters_for_chosen_users(portal):
    world = World(portal)
    client = world.client("Garage Pin BV")
    other = world.client("Ander BV")
    anna = new_user(world, client["id"], "Anna Pin")
    bert = new_user(world, client["id"], "Bert Pin")
    stranger = new_user(world, other["id"], "Carl Ander")
    browser = admin_browser(world)
    action = f"/kantoor/clienten/{client['id']}/pin-brieven"
    detail = browser.get(f"/kantoor/clienten/{client['id']}")
    form = find_form(detail.text, action)
    assert form["method"] == "post" and "user_ids" in form["fields"]
    assert f'id="kies-{anna["id"]}"' in detail.text and "Anna Pin" in detail.text

    none = browser.submit(detail, action, {"confirmation": "pin", "login": "password"})
    assert none.status_code == 422 and "Kies een of meer gebruikers." in alert(none.text)
    foreign = browser.submit(detail, action, {"user_ids": [stranger["id"]], "confirmation": "pin",
                                              "login": "password"})
    assert foreign.status_code == 422 and "hoort niet bij deze cliënt" in alert(foreign.text)
    no_mobile = browser.submit(detail, action, {"user_ids": [anna["id"]], "confirmation": "sms",
                                                "login": "password"})
    assert no_mobile.status_code == 422 and "mobiel nummer" in alert(no_mobile.text), no_mobile.text
    assert f'value="{anna["id"]}" checked' in no_mobile.text  # the choice is kept

    done = browser.submit(detail, action, {"user_ids": [anna["id"], bert["id"]], "confirmation": "pin",
                                           "login": "password"})
    assert done.status_code == 200 and "?methode=pin" in done.url, done.url
    assert "Voor 2 gebruikers is de bevestigingsmethode ingesteld op PIN-code." in done.text
    ready = wait_until_done(browser, batch_link(done.text))
    assert "<h1>PIN-brieven</h1>" in ready.text and "<dd>2</dd>" in ready.text
    text = pdf_text(download(browser, ready))
    assert text.count("PIN-code:") == 2 and anna["username"] in text and bert["username"] in text
    pins = re.findall(r"PIN-code:\s*(\d+)", text)
    assert ["pin", "pin"] == [u["confirmation"] for u in users_of(world, client["id"])]
    # the PIN works: Anna activates, logs in and approves with it
    portal.rpc.identity.activate(payload={"username": anna["username"], "activation_code": anna["activation_code"],
                                          "password": anna["password"]})
    mine = letter_secrets(portal, world.admin_principal, int(batch_link(done.text).rsplit("/", 1)[1]))
    anna["pin"] = mine[anna["username"]]
    upload = world.upload(world.admin, client["id"], title="Jaarrekening Pin")
    request_id = upload.json()["approval_id"]
    client_browser = log_in(portal, anna)
    page = client_browser.get(f"/accorderen/{request_id}")
    approved = client_browser.submit(page, f"/accorderen/{request_id}/akkoord", {"pin": anna["pin"]})
    assert approved.status_code == 200 and status_of(world, request_id)["status"] == "approved"

    assert_no_secret_in_urls(browser, *pins, anna["activation_code"], bert["activation_code"])
    for page_text in browser.texts:
        if page_text.startswith("%PDF"):
            continue
        for pin in pins:
            assert not shows_secret(page_text, pin)


def test_staff_offer_a_document_for_approval(portal, monkeypatch):
    world = World(portal)
    client = world.client("Kwekerij Aanbod")
    activated(world, client["id"], "Sanne Aanbod")
    browser = admin_browser(world)
    action = f"/kantoor/clienten/{client['id']}/documenten"
    detail = browser.get(f"/kantoor/clienten/{client['id']}")
    assert 'enctype="multipart/form-data"' in detail.text and '<option value="income_tax">' in detail.text
    assert "Er wachten geen documenten op akkoord." in detail.text
    hidden = find_form(detail.text, action)["hidden"]

    def post(data, files, **kwargs):
        return browser.post(action, data=dict(hidden, **data), files=files, **kwargs)

    not_pdf = post({"document_type": "annual_accounts", "title": "Geen PDF"},
                   {"file": ("brief.pdf", b"dit is geen pdf", "application/pdf")})
    assert not_pdf.status_code == 422 and alert(not_pdf.text).strip(), not_pdf.text
    assert 'value="Geen PDF"' in not_pdf.text
    no_title = post({"document_type": "annual_accounts", "title": ""},
                    {"file": ("jaarrekening.pdf", make_pdf("x"), "application/pdf")})
    assert no_title.status_code == 422 and "Vul een titel in" in alert(no_title.text)
    unknown = post({"document_type": "bestaat_niet", "title": "Onbekend type"},
                   {"file": ("jaarrekening.pdf", make_pdf("x"), "application/pdf")})
    assert unknown.status_code == 422 and "Onbekend documenttype." in alert(unknown.text)
    # the API's own size limit (patched small here: it is read at each upload)
    monkeypatch.setattr("gateway.routes.approval.MAX_UPLOAD_BYTES", 20 * 1024)
    big = post({"document_type": "annual_accounts", "title": "Te groot"},
               {"file": ("groot.pdf", make_pdf("groot " * 50, pages=200), "application/pdf")})
    assert big.status_code == 413 and "te groot" in alert(big.text)
    monkeypatch.undo()
    refused = post({"document_type": "annual_accounts", "title": "Van elders"},
                   {"file": ("jaarrekening.pdf", make_pdf("x"), "application/pdf")}, headers={"Origin": EVIL})
    assert refused.status_code == 403 and "niet van het portaal" in alert(refused.text)

    offered = post({"document_type": "income_tax", "title": "Aangifte IB 2025 Kwekerij"},
                   {"file": ("aangifte.pdf", make_pdf("Aangifte IB 2025"), "application/pdf")})
    assert offered.status_code == 200 and "?aangeboden=" in offered.url, (offered.status_code, offered.url)
    request_id = int(re.search(r"aangeboden=(\d+)", offered.url).group(1))
    assert "Het document is ter accordering aangeboden" in offered.text
    assert f'<a href="/accorderen/{request_id}">Aangifte IB 2025 Kwekerij</a>' in offered.text
    assert "Wacht op: Sanne Aanbod" in offered.text and "Openstaande verzoeken (1)" in offered.text
    state = status_of(world, request_id)
    assert state["status"] == "pending" and state["document_type"] == "income_tax"
    assert state["title"] == "Aangifte IB 2025 Kwekerij" and state["client"]["id"] == client["id"]
    request_page = browser.get(f"/accorderen/{request_id}")
    assert request_page.status_code == 200 and "Aangifte IB 2025 Kwekerij" in request_page.text
    # only the refused attempts' forms and the one offer: nothing else was opened
    listing = world.admin.get("/api/v1/approvals", params={"client_id": client["id"], "status": "all"}).json()
    assert [item["id"] for item in listing["items"]] == [request_id]


def test_a_client_user_gets_403_and_a_visitor_the_login_page(portal):
    world = World(portal)
    client = world.client("Tandarts Klant")
    user = activated(world, client["id"], "Kees Klant")
    created = portal.rpc.identity.create_client_user(principal=world.admin_principal, client_id=client["id"],
                                                     payload={"name": "Lotte Klant"})
    paths = ("/kantoor", "/kantoor/clienten", f"/kantoor/clienten/{client['id']}",
             f"/kantoor/brieven/{created['letter_batch_id']}")
    visitor = Browser(portal)
    for path in paths:
        answer = visitor.get(path, allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["Location"] == "/inloggen", (path, answer.headers)

    browser = log_in(portal, user)
    for path in paths:
        answer = browser.get(path)
        assert answer.status_code == 403 and NOT_STAFF in alert(answer.text), (path, answer.status_code)
        assert answer.headers["Content-Security-Policy"] and "Traceback" not in answer.text
    before = len(users_of(world, client["id"]))
    for path, data in ((f"/kantoor/clienten/{client['id']}/gebruikers", {"name": "Indringer"}),
                       (f"/kantoor/clienten/{client['id']}/pin-brieven",
                        {"user_ids": [user["id"]], "confirmation": "pin", "login": "password"})):
        answer = browser.post(path, data=data)
        assert answer.status_code == 403 and NOT_STAFF in alert(answer.text), (path, answer.status_code)
    answer = browser.post(f"/kantoor/clienten/{client['id']}/documenten", data={
        "client_id": client["id"], "document_type": "annual_accounts", "title": "Van een klant"},
        files={"file": ("x.pdf", make_pdf("x"), "application/pdf")})
    assert answer.status_code == 403 and NOT_STAFF in alert(answer.text)
    assert len(users_of(world, client["id"])) == before


def test_staff_without_the_users_right_get_the_refusal(portal):
    firm = Firm(portal)
    client = firm.client(name="Cliënt Zonder Recht BV")
    staff = firm.staff(rights_group=firm.staff_group(rights=("news",)))
    browser = staff_browser(portal, staff["username"], staff["password"])
    home = browser.get("/kantoor")
    assert home.status_code == 200 and "geen recht om cliëntgebruikers te beheren" in home.text
    detail = browser.get(f"/kantoor/clienten/{client['id']}")
    assert detail.status_code == 200, detail.text
    refused = browser.submit(detail, f"/kantoor/clienten/{client['id']}/gebruikers",
                             {"name": "Niet Toegestaan", "delivery": "letter"})
    assert refused.status_code == 403, refused.text
    assert "heeft u het recht 'Gebruikers' nodig" in alert(refused.text)
    assert 'value="Niet Toegestaan"' in refused.text
    assert firm.admin.get(f"/api/v1/clients/{client['id']}/users").json()["items"] == []

    # with a user made by the admin: no PIN letters either, and the admin's letter batch is not visible
    created = firm.admin.post(f"/api/v1/clients/{client['id']}/users", json={"name": "Wel Toegestaan"}).json()
    detail = browser.get(f"/kantoor/clienten/{client['id']}")
    pins = browser.submit(detail, f"/kantoor/clienten/{client['id']}/pin-brieven",
                          {"user_ids": [created["id"]], "confirmation": "pin", "login": "password"})
    assert pins.status_code == 403 and "'Gebruikers' nodig" in alert(pins.text), pins.text
    batch = browser.get(f"/kantoor/brieven/{created['letter_batch_id']}")
    assert batch.status_code == 404 and "bestaat niet" in alert(batch.text)
    offered = browser.post(f"/kantoor/clienten/{client['id']}/documenten", data={
        "client_id": client["id"], "document_type": "annual_accounts", "title": "Geen recht"},
        files={"file": ("x.pdf", make_pdf("x"), "application/pdf")})
    assert offered.status_code == 403 and "geen rechten om documenten" in alert(offered.text)


def test_cross_site_posts_are_refused_and_form_addresses_answer_get(portal):
    world = World(portal)
    client = world.client("Drukkerij Vals")
    user = new_user(world, client["id"], "Vera Vals")
    browser = admin_browser(world)
    forged = {"Origin": EVIL}
    for path, data in ((f"/kantoor/clienten/{client['id']}/gebruikers", {"name": "Vals", "delivery": "letter"}),
                       (f"/kantoor/clienten/{client['id']}/pin-brieven",
                        {"user_ids": [user["id"]], "confirmation": "pin", "login": "password"})):
        answer = browser.post(path, data=data, headers=forged, allow_redirects=False)
        assert answer.status_code == 403 and "niet van het portaal" in alert(answer.text), (path, answer.text)
        bare = browser.post(path, data=data, headers={"Origin": None}, allow_redirects=False)
        assert bare.status_code == 403, path
        again = browser.get(path, allow_redirects=False)
        assert again.status_code == 303 and again.headers["Location"] == f"/kantoor/clienten/{client['id']}"
    [only] = users_of(world, client["id"])
    assert only["id"] == user["id"] and only["confirmation"] == "pin"
    assert browser.get(f"/kantoor/clienten/{client['id']}/documenten", allow_redirects=False).status_code == 303
    # unknown things are Dutch 404 pages
    for path in ("/kantoor/clienten/999999999", "/kantoor/clienten/99999999999999999999",
                 "/kantoor/brieven/999999999"):
        answer = browser.get(path)
        assert answer.status_code == 404 and alert(answer.text).strip() and "Traceback" not in answer.text, path


def test_no_secret_in_the_logs(portal, captured_logs):
    world = World(portal)
    client = world.client("Loggen BV")
    browser = admin_browser(world)
    detail = browser.get(f"/kantoor/clienten/{client['id']}")
    created = browser.submit(detail, f"/kantoor/clienten/{client['id']}/gebruikers",
                             {"name": "Lies Log", "delivery": "letter"})
    ready = wait_until_done(browser, batch_link(created.text))
    code = re.search(r"Activeringscode:\s*(\S+)", pdf_text(download(browser, ready))).group(1)
    token = browser.cookies.get("akkoord_session")
    captured = captured_logs.getvalue()
    assert '"path": "/kantoor/clienten/' in captured
    for secret in (code, token, world.firm["admin"]["password"]):
        assert secret not in captured


def test_staff_of_a_branch_see_only_its_clients(portal):
    firm = Firm(portal)
    tag = uuid.uuid4().hex[:6]
    here = firm.client(branch_index=1, name=f"Utrechts {tag} BV")
    there = firm.client(branch_index=0, name=f"Amsterdams {tag} BV")
    staff = firm.staff(branch_index=1)
    browser = staff_browser(portal, staff["username"], staff["password"])
    found = browser.get("/kantoor/clienten", params={"q": tag})
    assert f'href="/kantoor/clienten/{here["id"]}"' in found.text
    assert f'href="/kantoor/clienten/{there["id"]}"' not in found.text and "1 cliënt voor" in found.text
    assert browser.get(f"/kantoor/clienten/{here['id']}").status_code == 200
    hidden = browser.get(f"/kantoor/clienten/{there['id']}")
    assert hidden.status_code == 404 and alert(hidden.text).strip()
    refused = browser.post(f"/kantoor/clienten/{there['id']}/gebruikers", data={"name": "Buiten", "delivery": "letter"})
    assert refused.status_code == 404
    assert firm.admin.get(f"/api/v1/clients/{there['id']}/users").json()["items"] == []


def test_letter_batch_states_in_dutch(portal, db_engine):
    world = World(portal)
    client = world.client("Brieven Status BV")
    created = portal.rpc.identity.create_client_user(principal=world.admin_principal, client_id=client["id"],
                                                     payload={"name": "Stan Status"})
    browser = admin_browser(world)
    link = f"/kantoor/brieven/{created['letter_batch_id']}"
    wait_until_done(browser, link)

    def shown(**values):
        with db_engine.begin() as conn:
            conn.execute(sa.text("UPDATE letters.batches SET " + ", ".join(f"{k} = :{k}" for k in values)
                                 + " WHERE id = :id"), dict(values, id=created["letter_batch_id"]))
        page = browser.get(link)
        assert page.status_code == 200, page.text
        return page.text

    text = shown(status="rendering", done=0, lease_until=None)  # no lease that ends: no worker takes it
    assert "<dd>wordt aangemaakt (0 van 1)</dd>" in text and "Status vernieuwen" in text
    assert "/api/v1/letters/" not in text
    text = shown(status="held")
    assert "<dd>wacht op bevestiging</dd>" in text
    text = shown(status="failed", error="Het lettertype ontbreekt.")
    assert "<dd>mislukt</dd>" in text and "niet aangemaakt: Het lettertype ontbreekt." in alert(text)
    assert "/api/v1/letters/" not in text
    text = shown(status="discarded", error="Niet bevestigd.")
    assert "<dd>vervallen</dd>" in text and "Niet bevestigd." in alert(text)
    text = shown(status="purged")
    assert "<dd>verwijderd na de bewaartermijn</dd>" in text and "/api/v1/letters/" not in text
