"""The web pages of a client user, used the way a browser does: forms posted with the browser's Origin,
the session in a cookie jar, redirects followed. Activation, login (also with an SMS code), the approval
screen, approve with a PIN or an SMS code, decline with a reason, the evidence certificate of a decided request,
"Mijn gegevens" (own password; own mobile number with the PIN and the code), logout; the same-origin check on
every form; the security headers; no secret in any URL."""
import re
import uuid
from html.parser import HTMLParser

import pytest

from tests.approval.helpers import World, make_pdf
from tests.fixtures import ApiClient, shows_secret
from tests.identity.helpers import code_in, letter_secrets, sms_to
from tests.notify.test_sending import mobile

EVIL = "https://evil.example"


# -- a small browser ------------------------------------------------------------------------------------------

class Browser(ApiClient):
    """A cookie jar that sends its own Origin on every request (as a browser does on a form post) and remembers
    every URL it asked for or was sent to."""

    def __init__(self, portal):
        super().__init__(portal.url)
        self.headers["Origin"] = portal.url
        self.headers["User-Agent"] = "Mozilla/5.0 (akkoord-tests)"
        self.urls = []
        self.hooks["response"].append(self._remember)

    def _remember(self, response, *args, **kwargs):
        self.urls.append(response.request.url)
        if response.headers.get("Location"):
            self.urls.append(response.headers["Location"])

    def submit(self, page, action, values=None, **kwargs):
        """Post the form with this action on ``page``, with its hidden fields and ``values`` filled in."""
        form = find_form(page.text, action)
        data = dict(form["hidden"])
        data.update(values or {})
        missing = set(values or {}) - set(form["fields"]) - set(form["hidden"])
        assert not missing, f"the form {action} has no fields {missing}: {form}"
        return self.post(action, data=data, **kwargs)


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.labels, self.inputs, self._form, self.lang = [], set(), [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "form":
            self._form = {"action": attrs.get("action"), "method": attrs.get("method"), "hidden": {},
                          "fields": set()}
            self.forms.append(self._form)
        elif tag == "label":
            self.labels.add(attrs.get("for"))
        elif tag in ("input", "textarea", "select") and self._form is not None:
            if attrs.get("type") == "hidden":
                self._form["hidden"][attrs["name"]] = attrs.get("value", "")
            else:
                self._form["fields"].add(attrs.get("name"))
                self.inputs.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def parse(text) -> _Forms:
    parser = _Forms()
    parser.feed(text)
    return parser


def find_form(text, action) -> dict:
    found = [f for f in parse(text).forms if f["action"] == action]
    assert found, f"no form posting to {action}"
    return found[0]


def actions(text) -> set:
    return {f["action"] for f in parse(text).forms}


def alert(text) -> str:
    match = re.search(r'<div class="fout" role="alert">(.*?)</div>', text, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


# -- the firm, its clients and users ------------------------------------------------------------------------

def new_user(world, client_id, name="Petra Jansen", mobile_number=None) -> dict:
    """A client user as staff create it: not yet activated, its activation code on a letter."""
    created = world.portal.rpc.identity.create_client_user(
        principal=world.admin_principal, client_id=client_id,
        payload={"name": name, "mobile": mobile_number, "superuser": True,
                 "email": f"{uuid.uuid4().hex[:6]}@example.nl"})
    code = letter_secrets(world.portal, world.admin_principal, created["letter_batch_id"])[created["username"]]
    return {"id": created["id"], "username": created["username"], "name": name, "mobile": mobile_number,
            "activation_code": code, "password": f"Een fiets met drie wielen {uuid.uuid4().hex[:4]}"}


def activated(world, client_id, name="Petra Jansen", mobile_number=None, confirmation="pin", login="password"):
    user = new_user(world, client_id, name, mobile_number)
    world.portal.rpc.identity.activate(payload={"username": user["username"], "activation_code":
                                                user["activation_code"], "password": user["password"]})
    if login == "password":
        world.tokens([user], confirmation)  # reads the PIN from its letter
    else:
        answer = world.admin.post("/api/v1/tokens", json={"user_ids": [user["id"]], "confirmation": confirmation,
                                                          "login": login})
        assert answer.status_code == 200, answer.text
    return user


def log_in(portal, user) -> Browser:
    browser = Browser(portal)
    page = browser.get("/inloggen")
    done = browser.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]})
    assert done.status_code == 200 and done.url.endswith("/accorderen"), (done.status_code, done.url, done.text)
    return browser


def offer(world, client_id, title="Jaarrekening 2025", document_type="annual_accounts") -> int:
    response = world.upload(world.admin, client_id, document_type=document_type, title=title,
                            data=make_pdf(title))
    assert response.status_code == 201, response.text
    return response.json()["approval_id"]


def status_of(world, request_id) -> dict:
    return world.admin.get(f"/api/v1/approvals/{request_id}").json()


def assert_no_secret_in_urls(browser, *secrets):
    for url in browser.urls:
        for secret in secrets:
            if secret:
                assert secret not in url, f"a secret in {url}"


@pytest.fixture
def outbox_sms(monkeypatch):
    monkeypatch.setenv("AKKOORD_SMS_BACKEND", "outbox")


# -- tests ---------------------------------------------------------------------------------------------------

def test_activate_log_in_and_approve_with_the_pin(portal):
    world = World(portal)
    client = world.client("Bakkerij Jansen BV")
    user = new_user(world, client["id"])
    browser = Browser(portal)

    # activation: the two passwords must match, identity's policy speaks Dutch, then the login page
    page = browser.get("/activeren")
    assert page.status_code == 200 and 'lang="nl"' in page.text
    values = {"username": user["username"], "activation_code": user["activation_code"]}
    differ = browser.submit(page, "/activeren", dict(values, password=user["password"], password2="iets anders"))
    assert differ.status_code == 422 and "niet gelijk" in alert(differ.text)
    weak = browser.submit(page, "/activeren", dict(values, password="wachtwoord", password2="wachtwoord"))
    assert weak.status_code == 422, weak.text
    assert "te bekend" in alert(weak.text)
    with_name = f"{user['username']} is mijn naam"
    named = browser.submit(page, "/activeren", dict(values, password=with_name, password2=with_name))
    assert named.status_code == 422 and "gebruikersnaam niet bevatten" in alert(named.text)
    assert user["activation_code"] not in named.text and with_name not in named.text
    done = browser.submit(page, "/activeren", dict(values, password=user["password"], password2=user["password"]))
    assert done.status_code == 200 and done.url.endswith("/inloggen?melding=geactiveerd"), done.url
    assert "Uw account is geactiveerd" in done.text
    again = browser.submit(page, "/activeren", dict(values, password=user["password"], password2=user["password"]))
    assert again.status_code == 422 and "onjuist, verlopen of al gebruikt" in alert(again.text)

    world.tokens([user], "pin")
    request_id = offer(world, client["id"], title="Jaarrekening 2025 Bakkerij")

    # log in through the form: the cookie is HttpOnly, SameSite=Lax, for the whole site
    page = browser.get("/inloggen")
    answer = browser.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]},
                            allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/accorderen"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("akkoord_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # AKKOORD_PUBLIC_URL is not https here

    screen = browser.get("/accorderen")
    assert screen.status_code == 200
    assert "Jaarrekening 2025 Bakkerij" in screen.text and "Bakkerij Jansen BV" in screen.text
    assert "<td>Jaarrekening</td>" in screen.text  # the document type's Dutch name
    assert f'href="/accorderen/{request_id}"' in screen.text
    assert 'action="/uitloggen"' in screen.text and "Amsterdam" in screen.text  # header: branch and logout

    detail = browser.get(f"/accorderen/{request_id}")
    assert detail.status_code == 200
    assert {f"/accorderen/{request_id}/akkoord", f"/accorderen/{request_id}/afwijzen"} <= actions(detail.text)
    assert f"/accorderen/{request_id}/sms" not in actions(detail.text)  # a PIN user needs no SMS
    link = re.search(r'href="(/api/v1/approvals/\d+/document)"', detail.text).group(1)
    pdf = browser.get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:200]

    # a wrong PIN: identity's Dutch message, 422, the PIN not shown back
    wrong_pin = "000000" if user["pin"] != "000000" else "111111"
    wrong = browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": wrong_pin})
    assert wrong.status_code == 422 and "De PIN-code is onjuist." in alert(wrong.text)
    assert "nog 9 keer" in alert(wrong.text)
    assert not shows_secret(wrong.text, wrong_pin)
    assert status_of(world, request_id)["status"] == "pending"

    approved = browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": user["pin"]})
    assert approved.status_code == 200 and approved.url.endswith(f"/accorderen/{request_id}?klaar=1")
    assert "Het document is nu geaccordeerd" in approved.text
    assert not actions(approved.text) - {"/uitloggen"}  # decided: no forms left
    assert status_of(world, request_id)["status"] == "approved"
    assert "Jaarrekening 2025 Bakkerij" not in browser.get("/accorderen").text

    # the evidence names the browser that approved
    records = world.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["records"]
    assert any(r["event"] == "approved" and r["method"] == "pin" for r in records)

    assert_no_secret_in_urls(browser, user["password"], user["pin"], user["activation_code"], wrong_pin,
                             browser.cookies.get("akkoord_session"))


def test_waiting_for_others_and_decline_with_a_reason(portal, outbox_sms):
    world = World(portal)
    client = world.client("Garage De Vries")
    anna = activated(world, client["id"], "Anna de Vries", mobile_number=mobile(), confirmation="sms")
    carl = activated(world, client["id"], "Carl de Vries", mobile_number=mobile(), confirmation="sms")
    bert = activated(world, client["id"], "Bert de Vries")
    for user in (anna, carl):  # both must approve the income tax return
        answer = world.admin.put(f"/api/v1/clients/{client['id']}/approval-rights",
                                 json={"user_id": user["id"], "document_type": "income_tax", "right": "must"})
        assert answer.status_code == 200, answer.text
    tax = offer(world, client["id"], title="Aangifte IB 2025", document_type="income_tax")
    accounts = offer(world, client["id"], title="Jaarrekening 2025 Garage")

    # Anna approves the return; it waits for Carl
    browser = log_in(portal, anna)
    page = browser.submit(browser.get(f"/accorderen/{tax}"), f"/accorderen/{tax}/sms")
    code = code_in(sms_to(portal, anna["mobile"])[0])
    done = browser.submit(page, f"/accorderen/{tax}/akkoord", {"code": code})
    assert done.status_code == 200, done.text
    assert "Het wacht nog op het akkoord van anderen: Carl de Vries." in done.text
    assert status_of(world, tax)["status"] == "pending"
    screen = browser.get("/accorderen").text  # nothing left to do for Anna; the return waits for Carl
    todo, waiting = screen.split("Door u beoordeeld, wacht nog op anderen")
    assert "Aangifte IB 2025" not in todo and "Jaarrekening 2025 Garage" in todo
    assert "Aangifte IB 2025" in waiting and "Carl de Vries" in waiting

    # Bert has no say on the return ('must' users take it), and declines the annual accounts
    browser = log_in(portal, bert)
    screen = browser.get("/accorderen").text
    assert "Jaarrekening 2025 Garage" in screen and "Aangifte IB 2025" not in screen
    detail = browser.get(f"/accorderen/{accounts}")
    no_reason = browser.submit(detail, f"/accorderen/{accounts}/afwijzen", {"reason": "  ", "pin": bert["pin"]})
    assert no_reason.status_code == 422 and "Geef een reden" in alert(no_reason.text)
    no_pin = browser.submit(detail, f"/accorderen/{accounts}/afwijzen", {"reason": "De omzet klopt niet."})
    assert no_pin.status_code == 422 and "Vul uw PIN-code in." in alert(no_pin.text)
    assert "De omzet klopt niet." in no_pin.text  # the reason is kept in the form
    declined = browser.submit(detail, f"/accorderen/{accounts}/afwijzen",
                              {"reason": "De omzet klopt niet.", "pin": bert["pin"]})
    assert declined.status_code == 200, declined.text
    assert "U heeft dit document afgewezen" in declined.text and "De omzet klopt niet." in declined.text
    state = status_of(world, accounts)
    assert state["status"] == "declined" and state["reason"] == "De omzet klopt niet."
    closed = browser.submit(detail, f"/accorderen/{accounts}/akkoord", {"pin": bert["pin"]})
    assert closed.status_code == 409 and "afgesloten" in alert(closed.text)


def test_sms_user_asks_for_a_code_and_approves_with_it(portal, outbox_sms):
    world = World(portal)
    client = world.client("Kwekerij Bloem")
    number = mobile()
    user = activated(world, client["id"], "Sanne Bloem", mobile_number=number, confirmation="sms")
    request_id = offer(world, client["id"], title="Jaarrekening 2025 Kwekerij")

    browser = log_in(portal, user)
    detail = browser.get(f"/accorderen/{request_id}")
    assert f"/accorderen/{request_id}/sms" in actions(detail.text)
    assert "SMS-code sturen" in detail.text
    assert "code" in find_form(detail.text, f"/accorderen/{request_id}/akkoord")["fields"]

    sent = browser.submit(detail, f"/accorderen/{request_id}/sms")
    assert sent.status_code == 200 and sent.url.endswith(f"/accorderen/{request_id}?sms=verstuurd"), sent.url
    assert "sms-code naar uw mobiele nummer gestuurd" in sent.text
    code = code_in(sms_to(portal, number)[0])

    wrong_code = "000000" if code != "000000" else "111111"
    wrong = browser.submit(sent, f"/accorderen/{request_id}/akkoord", {"code": wrong_code})
    assert wrong.status_code == 422 and "De code is onjuist." in alert(wrong.text), wrong.text
    empty = browser.submit(sent, f"/accorderen/{request_id}/akkoord", {"code": ""})
    assert empty.status_code == 422 and "Vul de sms-code in." in alert(empty.text)

    approved = browser.submit(sent, f"/accorderen/{request_id}/akkoord", {"code": code})
    assert approved.status_code == 200, approved.text
    assert "Het document is nu geaccordeerd" in approved.text
    assert status_of(world, request_id)["status"] == "approved"
    records = world.admin.get(f"/api/v1/approvals/{request_id}/evidence").json()["records"]
    assert [r["method"] for r in records if r["event"] == "approved"] == ["sms"]
    assert_no_secret_in_urls(browser, code, wrong_code, user["password"])


def test_login_with_an_sms_code(portal, outbox_sms):
    world = World(portal)
    client = world.client("Schildersbedrijf Verf")
    number = mobile()
    user = activated(world, client["id"], "Kees Verf", mobile_number=number, confirmation="sms",
                     login="password_sms")
    browser = Browser(portal)
    page = browser.get("/inloggen")
    step = browser.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]},
                          allow_redirects=False)
    assert step.status_code == 200 and "Set-Cookie" not in step.headers  # not logged in before the code
    form = find_form(step.text, "/inloggen/sms")
    assert form["hidden"].get("challenge_id") and "code" in form["fields"]
    code = code_in(sms_to(portal, number)[0])

    wrong_code = "000000" if code != "000000" else "111111"
    wrong = browser.submit(step, "/inloggen/sms", {"code": wrong_code})
    assert wrong.status_code == 422 and "De code is onjuist." in alert(wrong.text)
    assert find_form(wrong.text, "/inloggen/sms")["hidden"]["challenge_id"] == form["hidden"]["challenge_id"]

    done = browser.submit(wrong, "/inloggen/sms", {"code": code}, allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"] == "/accorderen"
    assert "HttpOnly" in done.headers["Set-Cookie"]
    assert browser.get("/accorderen", allow_redirects=False).status_code == 200
    assert_no_secret_in_urls(browser, code, wrong_code, user["password"])


def test_wrong_password_and_unknown_user_get_the_same_answer(portal):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    browser = Browser(portal)
    page = browser.get("/inloggen")
    wrong = browser.submit(page, "/inloggen", {"username": user["username"], "password": "Niet het wachtwoord 1"})
    unknown = browser.submit(page, "/inloggen", {"username": f"niemand-{uuid.uuid4().hex[:6]}",
                                                 "password": "Niet het wachtwoord 1"})
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert alert(answer.text).strip() == "Gebruikersnaam of wachtwoord onjuist."
        assert "Niet het wachtwoord 1" not in answer.text and "Set-Cookie" not in answer.headers
    empty = browser.submit(page, "/inloggen", {"username": user["username"], "password": ""})
    assert empty.status_code == 422 and "Vul uw gebruikersnaam en wachtwoord in." in alert(empty.text)


def test_not_logged_in_goes_to_the_login_page_and_back(portal):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    request_id = offer(world, client["id"])
    browser = Browser(portal)
    for path, target in (("/", "/inloggen"), ("/accorderen", "/inloggen"),
                         (f"/accorderen/{request_id}", f"/inloggen?terug=%2Faccorderen%2F{request_id}")):
        answer = browser.get(path, allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["Location"] == target, (path, answer.headers)
    refused = browser.post(f"/accorderen/{request_id}/akkoord", data={"pin": user["pin"]}, allow_redirects=False)
    assert refused.status_code == 303 and refused.headers["Location"].startswith("/inloggen")
    # a forged cookie is no session
    browser.cookies.set("akkoord_session", "nep-token")
    answer = browser.get("/accorderen", allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/inloggen")
    assert "akkoord_session=;" in answer.headers.get("Set-Cookie", "")  # the stale cookie is cleared

    # after logging in the user lands on the page it asked for, never on a page elsewhere
    browser = Browser(portal)
    page = browser.get(f"/accorderen/{request_id}")
    assert page.url.endswith(f"/inloggen?terug=%2Faccorderen%2F{request_id}")
    landed = browser.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]})
    assert landed.url.endswith(f"/accorderen/{request_id}"), landed.url
    other = Browser(portal)
    page = other.get("/inloggen", params={"terug": "https://evil.example/x"})
    landed = other.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]})
    assert landed.url == portal.url + "/accorderen"
    assert other.get("/", allow_redirects=False).headers["Location"] == "/accorderen"
    # a return path with a line break (header splitting) is ignored, not a 500 after the login
    third = Browser(portal)
    page = third.get("/inloggen", params={"terug": "/accorderen\n"})
    landed = third.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]})
    assert landed.status_code == 200 and landed.url == portal.url + "/accorderen", (landed.status_code, landed.url)


def test_logout_ends_the_session(portal):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    browser = log_in(portal, user)
    token = browser.cookies.get("akkoord_session")
    assert ApiClient(portal.url, token).get("/api/v1/me").status_code == 200
    page = browser.get("/accorderen")
    out = browser.submit(page, "/uitloggen", allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == "/inloggen?melding=uitgelogd"
    assert re.match(r"akkoord_session=;", out.headers["Set-Cookie"])
    assert browser.cookies.get("akkoord_session") is None
    # the old cookie, kept by someone, no longer works: neither on the pages nor on the API
    thief = Browser(portal)
    thief.cookies.set("akkoord_session", token)
    assert thief.get("/accorderen", allow_redirects=False).headers["Location"].startswith("/inloggen")
    assert ApiClient(portal.url, token).get("/api/v1/me").status_code == 401
    assert "U bent uitgelogd." in browser.get("/inloggen?melding=uitgelogd").text


def test_cross_site_posts_are_refused(portal):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    request_id = offer(world, client["id"])
    browser = log_in(portal, user)
    token = browser.cookies.get("akkoord_session")

    forged = {"Origin": EVIL}
    for path, data in ((f"/accorderen/{request_id}/akkoord", {"pin": user["pin"]}),
                       (f"/accorderen/{request_id}/afwijzen", {"pin": user["pin"], "reason": "Nee"}),
                       (f"/accorderen/{request_id}/sms", {}),
                       ("/uitloggen", {}),
                       ("/inloggen", {"username": user["username"], "password": user["password"]}),
                       ("/activeren", {"username": user["username"], "activation_code": "X",
                                       "password": "Een nieuw wachtwoord", "password2": "Een nieuw wachtwoord"})):
        answer = browser.post(path, data=data, headers=forged, allow_redirects=False)
        assert answer.status_code == 403, (path, answer.status_code, answer.text)
        assert "niet van het portaal" in alert(answer.text) and "Set-Cookie" not in answer.headers
    # without Origin and Referer (a browser always sends one of them on a form post): refused too
    bare = browser.post(f"/accorderen/{request_id}/akkoord", data={"pin": user["pin"]},
                        headers={"Origin": None}, allow_redirects=False)
    assert bare.status_code == 403
    assert status_of(world, request_id)["status"] == "pending"
    browser.head("/uitloggen", headers=forged)  # HEAD is a safe method: it never logs out
    assert ApiClient(portal.url, token).get("/api/v1/me").status_code == 200  # the logout was refused
    # the same post from the portal's own page goes through
    referer = browser.post(f"/accorderen/{request_id}/akkoord", data={"pin": user["pin"]},
                           headers={"Origin": None, "Referer": f"{portal.url}/accorderen/{request_id}"})
    assert referer.status_code == 200 and status_of(world, request_id)["status"] == "approved"


def test_security_headers_and_accessible_forms(portal):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    request_id = offer(world, client["id"])
    anonymous = Browser(portal)
    browser = log_in(portal, user)
    pages = [anonymous.get("/inloggen"), anonymous.get("/activeren"), browser.get("/accorderen"),
             browser.get(f"/accorderen/{request_id}")]
    for page in pages:
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
        parsed = parse(page.text)
        assert parsed.lang == "nl" and "<script" not in page.text and " style=" not in page.text
        for element in parsed.inputs:  # every visible input has its label
            assert element.get("id") in parsed.labels, element
    css = anonymous.get("/portaal.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    # an unknown request is a Dutch page with the right status, not a stack trace
    missing = browser.get("/accorderen/999999999")
    assert missing.status_code == 404 and "Dit accordeerverzoek bestaat niet." in alert(missing.text)
    assert missing.headers["Content-Security-Policy"] and "Traceback" not in missing.text
    assert browser.get("/accorderen/99999999999999999999").status_code == 404


def test_branch_colour_through_a_nonce_and_a_staff_member_sees_without_forms(portal):
    world = World(portal)
    branch_id = world.branch_ids[0]
    assert world.admin.patch(f"/api/v1/branches/{branch_id}", json={
        "display_name": "Jansen & Partners Amsterdam", "primary_color": "#0A5C36"}).status_code == 200
    client = world.client("Tandartspraktijk Wit")
    user = activated(world, client["id"])
    request_id = offer(world, client["id"], title="Jaarrekening tandarts")
    browser = log_in(portal, user)
    page = browser.get("/accorderen")
    assert "Jansen &amp; Partners Amsterdam" in page.text
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in page.text and "#0A5C36" in page.text
    assert browser.get("/accorderen").headers["Content-Security-Policy"] != page.headers["Content-Security-Policy"]

    staff = Browser(portal)
    login = staff.submit(staff.get("/inloggen"), "/inloggen", {"username": world.firm["admin"]["username"],
                                                              "password": world.firm["admin"]["password"]})
    assert login.status_code == 200 and login.url.endswith("/kantoor")  # staff start on the firm's pages
    assert '<a href="/kantoor">Kantoor</a>' in login.text
    assert staff.get("/", allow_redirects=False).headers["Location"] == "/kantoor"
    screen = staff.get("/accorderen")
    assert "Accorderen doen de cliëntgebruikers zelf" in screen.text and "Jaarrekening tandarts" in screen.text
    detail = staff.get(f"/accorderen/{request_id}")
    assert detail.status_code == 200 and actions(detail.text) == {"/uitloggen"}


def test_the_cookie_is_secure_behind_https(portal, monkeypatch):
    monkeypatch.setenv("AKKOORD_PUBLIC_URL", "https://portaal.kantoor.example")
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    browser = Browser(portal)
    answer = browser.submit(browser.get("/inloggen"), "/inloggen",
                            {"username": user["username"], "password": user["password"]}, allow_redirects=False)
    assert answer.status_code == 303 and "Secure" in answer.headers["Set-Cookie"]
    # behind the ingress the browser's origin is the public address, not the Host the gateway sees
    public = Browser(portal)
    public.headers["Origin"] = "https://portaal.kantoor.example"
    answer = public.submit(public.get("/inloggen"), "/inloggen",
                           {"username": user["username"], "password": user["password"]}, allow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_no_secret_in_the_logs_and_form_addresses_answer_get(portal, captured_logs):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    request_id = offer(world, client["id"])
    browser = Browser(portal)
    page = browser.get("/inloggen")
    browser.submit(page, "/inloggen", {"username": user["username"], "password": "fout " + user["password"]})
    browser = log_in(portal, user)
    token = browser.cookies.get("akkoord_session")
    detail = browser.get(f"/accorderen/{request_id}")
    browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": "99" + user["pin"]})
    browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": user["pin"]})
    for path in ("akkoord", "afwijzen", "sms"):
        answer = browser.get(f"/accorderen/{request_id}/{path}", allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["Location"] == f"/accorderen/{request_id}"
    confirm = browser.get("/uitloggen")
    assert confirm.status_code == 200 and "Wilt u uitloggen?" in confirm.text
    browser.submit(confirm, "/uitloggen")
    captured = captured_logs.getvalue()
    assert '"path": "/inloggen"' in captured  # the pages were logged
    for secret in (user["password"], token):
        assert secret not in captured
    assert not shows_secret(captured, user["pin"]) and not shows_secret(captured, "99" + user["pin"])
    assert status_of(world, request_id)["status"] == "approved"


def test_a_pin_locks_after_ten_wrong_tries(portal):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    request_id = offer(world, client["id"])
    browser = log_in(portal, user)
    detail = browser.get(f"/accorderen/{request_id}")
    wrong_pin = "000000" if user["pin"] != "000000" else "111111"
    answers = []
    for _ in range(11):
        answer = browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": wrong_pin})
        answers.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert answers[:9] == [422] * 9 and answers[-1] == 429, answers
    assert "geblokkeerd" in alert(answer.text) and "nog" not in alert(answer.text)
    # locked: even the right PIN is refused until staff reissue it
    right = browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": user["pin"]})
    assert right.status_code == 429 and "geblokkeerd" in alert(right.text)
    assert status_of(world, request_id)["status"] == "pending"


def test_the_letter_sends_clients_to_the_pages_it_names(portal, monkeypatch):
    """The activation letter says where to go and what to click ("Account activeren", then "Akkoord" or "Niet
    akkoord"); the portal's address is AKKOORD_PUBLIC_URL and the pages carry exactly those words."""
    monkeypatch.setenv("AKKOORD_PUBLIC_URL", portal.url)
    world = World(portal)
    client = world.client("Drukkerij Letter BV")
    created = portal.rpc.identity.create_client_user(principal=world.admin_principal, client_id=client["id"],
                                                     payload={"name": "Lotte Letter"})
    text = " ".join(world._letter_text(created["letter_batch_id"]).split())
    address = portal.url.split("://", 1)[1]
    assert address in text and "kies 'Account activeren'" in text and "Klik op 'Akkoord'" in text, text
    assert "Kies 'Niet akkoord'" in text
    login = Browser(portal).get("/inloggen")
    assert '<a href="/activeren">Account activeren</a>' in login.text

    user = activated(world, client["id"])
    request_id = offer(world, client["id"], title="Jaarrekening Letter")
    detail = log_in(portal, user).get(f"/accorderen/{request_id}")
    assert ">Akkoord</button>" in detail.text and ">Niet akkoord</button>" in detail.text


# -- "Mijn gegevens" ------------------------------------------------------------------------------------------

def test_my_details_show_the_account_its_clients_and_the_forms(portal):
    world = World(portal)
    client = world.client("Houthandel Eik BV")
    number = mobile()
    user = activated(world, client["id"], "Eva Eik", mobile_number=number)
    other = world.client("Eik Beheer BV")
    linked = world.portal.rpc.identity.create_client_user(principal=world.admin_principal, client_id=other["id"],
                                                          payload={"user_id": user["id"]})
    assert linked["linked"] is True

    # not logged in: the login page, and back to the page asked for
    browser = Browser(portal)
    page = browser.get("/mijn-gegevens")
    assert page.url.endswith("/inloggen?terug=%2Fmijn-gegevens"), page.url
    page = browser.submit(page, "/inloggen", {"username": user["username"], "password": user["password"]})
    assert page.status_code == 200 and page.url.endswith("/mijn-gegevens"), page.url

    assert '<a href="/mijn-gegevens">Mijn gegevens</a>' in browser.get("/accorderen").text  # in the header
    text = page.text
    assert "<h1>Mijn gegevens</h1>" in text and '<a href="/accorderen">' in text
    for shown in ("Eva Eik", user["username"], "@example.nl", number, "Met uw PIN-code", "Met uw wachtwoord",
                  "Houthandel Eik BV", "Eik Beheer BV", client["number"], other["number"]):
        assert shown in text, shown
    assert 'href="/mijn-gegevens/wachtwoord"' in text and 'href="/mijn-gegevens/mobiel"' in text
    assert not shows_secret(text, user["pin"])
    for path, action in (("/mijn-gegevens/wachtwoord", "/mijn-gegevens/wachtwoord"),
                         ("/mijn-gegevens/mobiel", "/mijn-gegevens/mobiel"),
                         ("/mijn-gegevens/mobiel/bevestigen", "/mijn-gegevens/mobiel/bevestigen")):
        form = browser.get(path)
        assert form.status_code == 200 and action in actions(form.text), path
        assert "default-src 'none'" in form.headers["Content-Security-Policy"]
        assert form.headers["Cache-Control"] == "no-store"
        parsed = parse(form.text)
        for element in parsed.inputs:
            assert element.get("id") in parsed.labels, element
    # every form here refuses a post from another site
    for path, data in (("/mijn-gegevens/wachtwoord", {"current_password": user["password"],
                                                      "new_password": "Een ander lang wachtwoord",
                                                      "new_password2": "Een ander lang wachtwoord"}),
                       ("/mijn-gegevens/mobiel", {"mobile": mobile(), "pin": user["pin"]}),
                       ("/mijn-gegevens/mobiel/bevestigen", {"code": "123456"})):
        answer = browser.post(path, data=data, headers={"Origin": EVIL}, allow_redirects=False)
        assert answer.status_code == 403 and "niet van het portaal" in alert(answer.text), path
    assert log_in(portal, user)  # the password was not changed by the forged post

    # staff reach the page from the same header: their password, and no mobile form (the firm's admin sets it)
    staff = Browser(portal)
    staff.submit(staff.get("/inloggen"), "/inloggen", {"username": world.firm["admin"]["username"],
                                                      "password": world.firm["admin"]["password"]})
    mine = staff.get("/mijn-gegevens")
    assert mine.status_code == 200 and world.firm["admin"]["username"] in mine.text
    assert "Uw cliënten" not in mine.text
    assert "/mijn-gegevens/wachtwoord" in actions(staff.get("/mijn-gegevens/wachtwoord").text)
    number_page = staff.get("/mijn-gegevens/mobiel")
    assert "via de beheerder" in number_page.text and "/mijn-gegevens/mobiel" not in actions(number_page.text)


def test_change_the_own_password(portal, captured_logs):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    browser = log_in(portal, user)
    elsewhere = log_in(portal, user)  # the same user in another browser
    page = browser.get("/mijn-gegevens/wachtwoord")
    new = f"Een nieuw fietsslot van koper {uuid.uuid4().hex[:4]}"

    wrong = browser.submit(page, "/mijn-gegevens/wachtwoord", {
        "current_password": "Niet mijn wachtwoord 7", "new_password": new, "new_password2": new})
    assert wrong.status_code == 422 and "Uw huidige wachtwoord is onjuist." in alert(wrong.text)
    assert 'id="veld-current_password"' in wrong.text and "Niet mijn wachtwoord 7" not in wrong.text
    assert new not in wrong.text
    weak = browser.submit(page, "/mijn-gegevens/wachtwoord", {
        "current_password": user["password"], "new_password": "wachtwoord", "new_password2": "wachtwoord"})
    assert weak.status_code == 422 and "te bekend" in alert(weak.text)
    assert user["password"] not in weak.text
    differ = browser.submit(page, "/mijn-gegevens/wachtwoord", {
        "current_password": user["password"], "new_password": new, "new_password2": new + "!"})
    assert differ.status_code == 422 and "niet gelijk" in alert(differ.text)
    assert log_in(portal, user)  # nothing changed so far

    done = browser.submit(page, "/mijn-gegevens/wachtwoord", {
        "current_password": user["password"], "new_password": new, "new_password2": new})
    assert done.status_code == 200 and done.url.endswith("/mijn-gegevens?melding=wachtwoord"), done.url
    assert "Uw wachtwoord is gewijzigd" in done.text and "andere sessies" in done.text
    # this browser stays logged in; the other one is logged out
    assert browser.get("/accorderen", allow_redirects=False).status_code == 200
    assert elsewhere.get("/accorderen", allow_redirects=False).headers["Location"].startswith("/inloggen")
    # the old password no longer logs in, the new one does
    old = Browser(portal)
    refused = old.submit(old.get("/inloggen"), "/inloggen", {"username": user["username"],
                                                             "password": user["password"]})
    assert refused.status_code == 401
    assert log_in(portal, dict(user, password=new))
    assert_no_secret_in_urls(browser, user["password"], new, "Niet mijn wachtwoord 7")
    captured = captured_logs.getvalue()
    assert '"path": "/mijn-gegevens/wachtwoord"' in captured
    for secret in (user["password"], new, "Niet mijn wachtwoord 7"):
        assert secret not in captured


def test_guessing_the_current_password_is_throttled_with_retry_after(portal, monkeypatch):
    import datetime as dt

    from identity import sessions
    monkeypatch.setattr(sessions, "_lock_for", lambda failures: dt.timedelta(
        minutes=1 if failures >= sessions.FREE_FAILURES else 0))
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    browser = log_in(portal, user)
    page = browser.get("/mijn-gegevens/wachtwoord")
    new = "Een heel ander wachtwoord voor de zomer"
    statuses = []
    for attempt in range(sessions.FREE_FAILURES + 2):
        answer = browser.submit(page, "/mijn-gegevens/wachtwoord", {
            "current_password": f"gok nummer {attempt} {uuid.uuid4().hex[:4]}", "new_password": new,
            "new_password2": new})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {422}, statuses
    assert "Te veel mislukte pogingen" in alert(answer.text) and int(answer.headers["Retry-After"]) > 0
    assert browser.get("/accorderen", allow_redirects=False).status_code == 200  # still logged in


def test_change_the_own_mobile_with_the_pin_and_the_code(portal, outbox_sms, captured_logs):
    world = World(portal)
    client = world.client()
    old, new = mobile(), mobile()
    user = activated(world, client["id"], "Mila Mobiel", mobile_number=old)
    browser = log_in(portal, user)
    page = browser.get("/mijn-gegevens/mobiel")
    assert old in page.text
    wrong_pin = "000000" if user["pin"] != "000000" else "111111"

    wrong = browser.submit(page, "/mijn-gegevens/mobiel", {"mobile": new, "pin": wrong_pin})
    assert wrong.status_code == 422 and "De PIN-code is onjuist." in alert(wrong.text)
    assert "nog 9 keer" in alert(wrong.text)
    assert not shows_secret(wrong.text, wrong_pin) and f'value="{new}"' in wrong.text  # the number is kept
    invalid = browser.submit(page, "/mijn-gegevens/mobiel", {"mobile": "0612", "pin": user["pin"]})
    assert invalid.status_code == 422 and "Geen geldig mobiel nummer." in alert(invalid.text)
    assert not shows_secret(invalid.text, user["pin"])
    no_pin = browser.submit(page, "/mijn-gegevens/mobiel", {"mobile": new, "pin": ""})
    assert no_pin.status_code == 422 and "Vul uw PIN-code in." in alert(no_pin.text)
    assert not sms_to(portal, new)

    asked = browser.submit(page, "/mijn-gegevens/mobiel", {"mobile": new.replace("+31", "0"), "pin": user["pin"]})
    assert asked.status_code == 200 and "sms-code gestuurd naar uw nieuwe nummer" in asked.text, asked.text
    assert not shows_secret(asked.text, user["pin"])
    assert "/mijn-gegevens/mobiel/bevestigen" in actions(asked.text)
    assert old in browser.get("/mijn-gegevens").text  # not before it is confirmed
    code = code_in(sms_to(portal, new)[0])

    wrong_code = "000000" if code != "000000" else "111111"
    bad = browser.submit(asked, "/mijn-gegevens/mobiel/bevestigen", {"code": wrong_code})
    assert bad.status_code == 422 and "De code is onjuist." in alert(bad.text)
    assert not shows_secret(bad.text, wrong_code)
    done = browser.submit(bad, "/mijn-gegevens/mobiel/bevestigen", {"code": code})
    assert done.status_code == 200 and done.url.endswith("/mijn-gegevens?melding=mobiel"), done.url
    assert "Uw nieuwe mobiele nummer is bevestigd" in done.text and new in done.text and old not in done.text
    assert any("gewijzigd" in body for body in sms_to(portal, old))  # the old number is told
    # the code worked once: again it is refused, and the user starts over
    again = browser.submit(bad, "/mijn-gegevens/mobiel/bevestigen", {"code": code})
    assert again.status_code == 422 and "/mijn-gegevens/mobiel" in actions(again.text), again.text
    assert_no_secret_in_urls(browser, user["pin"], wrong_pin, code, wrong_code, user["password"])
    captured = captured_logs.getvalue()
    assert '"path": "/mijn-gegevens/mobiel/bevestigen"' in captured
    for secret in (user["pin"], wrong_pin, code, wrong_code):
        assert not shows_secret(captured, secret), secret


def test_a_locked_pin_and_an_sms_user_cannot_change_the_mobile(portal, outbox_sms):
    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    browser = log_in(portal, user)
    page = browser.get("/mijn-gegevens/mobiel")
    wrong_pin = "000000" if user["pin"] != "000000" else "111111"
    for _ in range(11):
        answer = browser.submit(page, "/mijn-gegevens/mobiel", {"mobile": mobile(), "pin": wrong_pin})
        if answer.status_code == 429:
            break
    assert answer.status_code == 429 and "geblokkeerd" in alert(answer.text), answer.text
    right = browser.submit(page, "/mijn-gegevens/mobiel", {"mobile": mobile(), "pin": user["pin"]})
    assert right.status_code == 429 and "geblokkeerd" in alert(right.text)

    # a user who confirms by SMS has no PIN: the firm changes its number
    sms_user = activated(world, client["id"], "Sem Sms", mobile_number=mobile(), confirmation="sms")
    browser = log_in(portal, sms_user)
    page = browser.get("/mijn-gegevens/mobiel")
    assert "vraag uw kantoor om uw mobiele nummer te wijzigen" in page.text
    assert "/mijn-gegevens/mobiel" not in actions(page.text)
    assert "Met een sms-code" in browser.get("/mijn-gegevens").text
    forced = browser.post("/mijn-gegevens/mobiel", data={"mobile": mobile(), "pin": "123456"})
    assert forced.status_code == 422 and "U bevestigt met sms en heeft geen PIN-code" in alert(forced.text)


def test_a_decided_request_links_its_evidence_certificate(portal):
    world = World(portal)
    client = world.client("Visserij Haring")
    user = activated(world, client["id"])
    request_id = offer(world, client["id"], title="Jaarrekening Visserij")
    browser = log_in(portal, user)
    detail = browser.get(f"/accorderen/{request_id}")
    assert "/evidence" not in detail.text  # pending: nothing to prove yet
    approved = browser.submit(detail, f"/accorderen/{request_id}/akkoord", {"pin": user["pin"]})
    assert approved.status_code == 200, approved.text
    link = re.search(r'href="(/api/v1/approvals/\d+/evidence\?format=pdf)"', approved.text).group(1)
    assert link == f"/api/v1/approvals/{request_id}/evidence?format=pdf"
    pdf = browser.get(link)  # the API takes the page's cookie
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    assert pdf.headers["Content-Type"].startswith("application/pdf")
