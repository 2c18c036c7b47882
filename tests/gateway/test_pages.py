"""The web pages of a client user, used the way a browser does: forms posted with the browser's Origin,
the session in a cookie jar, redirects followed. Activation, login (also with an SMS code), the approval
screen, approve with a PIN or an SMS code, decline with a reason, logout; the same-origin check on every
form; the security headers; no secret in any URL."""
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
        elif tag in ("input", "textarea") and self._form is not None:
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
    assert login.status_code == 200 and login.url.endswith("/accorderen")
    assert "Accorderen doen de cliëntgebruikers zelf" in login.text and "Jaarrekening tandarts" in login.text
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


def test_no_secret_in_the_logs_and_form_addresses_answer_get(portal):
    import io
    import logging

    from chassis import logs

    world = World(portal)
    client = world.client()
    user = activated(world, client["id"])
    request_id = offer(world, client["id"])
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logs.configure(level="DEBUG", stream=stream)
    try:
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
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    captured = stream.getvalue()
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
