"""The web pages for a client user: activate the account, log in (with an SMS code when the user logs in
that way), the approval screen, one request with its document (and, once decided, its evidence certificate),
approve and decline, "Mijn gegevens" (change the own password; the own mobile number with the PIN, then the
code sent to it), log out.

Server-rendered HTML with plain forms; no JavaScript. Every answer comes from a service over the same
RPCs the JSON API uses (gateway/routes/identity.py, approval.py); these pages only turn forms into
those calls and errors into Dutch messages on the page.

- The session token travels only in the ``akkoord_session`` cookie (HttpOnly, SameSite=Lax, Path=/,
  Secure when AKKOORD_PUBLIC_URL is https), set by /inloggen and cleared by /uitloggen. The API routes
  accept the same cookie (gateway/api.py), so the document link goes straight to the API's download.
- Every POST passes ``check_same_site`` (the API's CSRF check for cookie-authenticated changes), login
  and activation included: a form posted from another site is refused with 403.
- No password, PIN, code or token ever goes into a URL, a log line or a page: forms post them in the
  body, a page with an error never fills them in again, redirects carry fixed words only.
- Headers on every page: a strict Content-Security-Policy (no scripts at all; styles from /portaal.css
  and, for the branch colour, one <style> with a per-answer nonce), X-Frame-Options: DENY,
  nosniff, Referrer-Policy: same-origin, Cache-Control: no-store.

The pages are not part of the JSON API, so they use nameko's ``http`` directly rather than ``@route``
and are not in the OpenAPI document. The module is self-contained (HTML and CSS included): pyproject's
package list ships ``gateway.routes`` and no other new package.
"""
import datetime as dt
import functools
import json
import logging
import os
import re
import secrets
import time
from html import escape
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

from chassis.errors import AkkoordError
from gateway.api import SAFE_METHODS, SESSION_COOKIE, check_same_site, client_ip
from gateway.errors import from_exception, retry_after
from gateway.server import http

log = logging.getLogger("gateway.access")

MAX_FORM_BYTES = 64 * 1024  # the longest form is a decline with its reason (2,000 characters)
PER_PAGE = 50
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# where /inloggen may send the user back to
RETURN_PATH = re.compile(r"^/(accorderen(/[1-9][0-9]{0,17})?|mijn-gegevens(/wachtwoord|/mobiel)?"
                         r"|kantoor(/clienten(/[1-9][0-9]{0,17})?|/brieven/[1-9][0-9]{0,17}"
                         r"|/import(/[1-9][0-9]{0,17})?)?)$")
CHALLENGE_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")

# Fixed notices a redirect may name in its query (?melding=...): words, never data.
NOTICES = {
    "geactiveerd": "Uw account is geactiveerd. Log in met uw gebruikersnaam en uw nieuwe wachtwoord.",
    "uitgelogd": "U bent uitgelogd.",
    "verlopen": "Uw sessie is verlopen; log opnieuw in.",
    "wachtwoord": "Uw wachtwoord is gewijzigd. Log opnieuw in met uw nieuwe wachtwoord.",
}
# ... and those /mijn-gegevens shows after a change
ACCOUNT_NOTICES = {
    "wachtwoord": "Uw wachtwoord is gewijzigd. Uw andere sessies (op andere apparaten of in andere browsers) "
                  "zijn beëindigd; hier blijft u ingelogd.",
    "mobiel": "Uw nieuwe mobiele nummer is bevestigd. Sms-codes gaan vanaf nu naar dit nummer.",
}
CONFIRMATION_LABELS = {"pin": "Met uw PIN-code (uit de brief van uw kantoor)",
                       "sms": "Met een sms-code op uw mobiele nummer"}
LOGIN_LABELS = {"password": "Met uw wachtwoord", "password_sms": "Met uw wachtwoord en een sms-code"}
# identity's own answers (confirmation.request_mobile_change), shown before a form that could only fail
MOBILE_SMS_USER = ("U bevestigt met sms en heeft geen PIN-code; vraag uw kantoor om uw mobiele nummer te "
                   "wijzigen.")
MOBILE_STAFF = "Kantoormedewerkers wijzigen hun nummer via de beheerder."


def public_is_https() -> bool:
    return (os.environ.get("AKKOORD_PUBLIC_URL") or "").strip().lower().startswith("https://")


# -- HTML ---------------------------------------------------------------------------------------------------

def e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


STYLESHEET = """\
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1rem;
line-height:1.5;color:#1b1b1b;background:#f5f6f7}
a{color:#0b4f8a}
a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #f0b400;outline-offset:1px}
.kop{background:#1f3a5f;color:#fff;padding:.75rem 1rem;display:flex;flex-wrap:wrap;align-items:center;
justify-content:space-between;gap:.5rem}
.kop .naam{font-size:1.25rem;font-weight:600;margin:0}
.kop form{margin:0;display:flex;align-items:center;gap:.75rem}
.kop .wie{font-size:.95rem}
.kop a{color:inherit}
.kop button{background:transparent;color:inherit;border:1px solid currentColor;padding:.3rem .8rem}
main{max-width:56rem;margin:1.5rem auto;padding:0 1rem}
.vlak{background:#fff;border:1px solid #d8dbe0;border-radius:6px;padding:1rem 1.25rem;margin-bottom:1rem}
h1{font-size:1.6rem;margin:.25rem 0 1rem}
h2{font-size:1.2rem;margin:.25rem 0 .75rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}label.rij,label.keuze{display:inline;font-weight:400;margin:0 1rem 0 .3rem}fieldset{border:1px solid #c8ced6;border-radius:4px;margin:.75rem 0;padding:.25rem .75rem .75rem}
input[type=text],input[type=password],input[type=tel],textarea{width:100%;max-width:24rem;padding:.5rem;font:inherit;
border:1px solid #767676;border-radius:4px}
textarea{max-width:100%;min-height:5rem}
input[aria-invalid=true]{border-color:#b00020;border-width:2px}
.hint{color:#4a4a4a;font-size:.9rem;margin:.25rem 0}
button{margin-top:1rem;padding:.55rem 1.2rem;font:inherit;border-radius:4px;border:1px solid #1f3a5f;
background:#1f3a5f;color:#fff;cursor:pointer}
button.tweede{background:#fff;color:#1f3a5f}
button.nee{background:#8a1c1c;border-color:#8a1c1c}
.fout{border-left:4px solid #b00020;background:#fdecee;padding:.6rem 1rem;margin-bottom:1rem}
.melding{border-left:4px solid #1e7b34;background:#e8f5ec;padding:.6rem 1rem;margin-bottom:1rem}
.let-op{border-left:4px solid #8a6d00;background:#fff7dd;padding:.6rem 1rem;margin-bottom:1rem}
.fout p,.melding p,.let-op p{margin:.2rem 0}
table{width:100%;border-collapse:collapse;background:#fff;margin-bottom:1.5rem}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d8dbe0;vertical-align:top}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
.acties{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
.blader{display:flex;gap:1rem;margin-top:1rem}
"""


def layout(title: str, body: str, *, brand: dict | None = None, user: dict | None = None,
           nonce: str | None = None, refresh: int | None = None) -> str:
    brand = brand or {}
    name = brand.get("name") or "Cliëntportaal"
    style = ""
    color = brand.get("color")
    if color and nonce:
        style = (f'<style nonce="{e(nonce)}">.kop{{background:{color};color:{_text_on(color)}}}'
                 f'button{{background:{color};border-color:{color};color:{_text_on(color)}}}'
                 f'button.tweede{{background:#fff;color:#1b1b1b}}</style>')
    account = ""
    if user:
        account = ('<form method="post" action="/uitloggen">'
                   f'<span class="wie">{e(user.get("name") or user.get("username"))}</span>'
                   + ('<a href="/kantoor">Kantoor</a>' if user.get("kind") == "staff" else "")
                   + '<a href="/mijn-gegevens">Mijn gegevens</a>'
                   '<button type="submit">Uitloggen</button></form>')
    return ("<!doctype html>\n"
            '<html lang="nl"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)} – {e(name)}</title>"
            '<link rel="stylesheet" href="/portaal.css">'
            f"{style}"
            + (f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else "")
            + "</head><body>"
            f'<header class="kop"><p class="naam">{e(name)}</p>{account}</header>'
            f"<main>{body}</main></body></html>")


def _text_on(color: str) -> str:
    """Black or white text, whichever reads better on the branch colour."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#fff"


def error_box(errors) -> str:
    if not errors:
        return ""
    message, extra = errors
    items = "".join(f"<li>{e(text)}</li>" for text in extra if text != message)
    return (f'<div class="fout" role="alert"><p>{e(message)}</p>'
            + (f"<ul>{items}</ul>" if items else "") + "</div>")


def notice_box(text: str | None, kind: str = "melding") -> str:
    return f'<div class="{kind}" role="status"><p>{e(text)}</p></div>' if text else ""


def field(label: str, name: str, *, kind: str = "text", value: str = "", autocomplete: str = "off",
          hint: str = "", invalid: bool = False, extra: str = "", field_id: str | None = None,
          required: bool = True) -> str:
    field_id = field_id or f"veld-{name}"
    hint_html = f'<p class="hint" id="{field_id}-uitleg">{e(hint)}</p>' if hint else ""
    described = f' aria-describedby="{field_id}-uitleg"' if hint else ""
    value_attr = f' value="{e(value)}"' if value and kind != "password" else ""
    invalid_attr = ' aria-invalid="true"' if invalid else ""
    return (f'<label for="{field_id}">{e(label)}</label>{hint_html}'
            f'<input id="{field_id}" name="{e(name)}" type="{kind}" autocomplete="{autocomplete}"'
            f'{" required" if required else ""}{value_attr}{described}{invalid_attr} {extra}>')


def select(label: str, name: str, options, chosen="", *, empty: str | None = None, hint: str = "",
           invalid: bool = False, field_id: str | None = None) -> str:
    """A choice from ``options`` ((value, text) pairs); with ``empty``, a first empty choice that may stay."""
    field_id = field_id or f"veld-{name}"
    hint_html = f'<p class="hint" id="{field_id}-uitleg">{e(hint)}</p>' if hint else ""
    described = f' aria-describedby="{field_id}-uitleg"' if hint else ""
    items = (f'<option value="">{e(empty)}</option>' if empty is not None else "") + "".join(
        f'<option value="{e(value)}"{" selected" if str(value) == str(chosen) else ""}>{e(text)}</option>'
        for value, text in options)
    return (f'<label for="{field_id}">{e(label)}</label>{hint_html}'
            f'<select id="{field_id}" name="{e(name)}"{" required" if empty is None else ""}{described}'
            + (' aria-invalid="true"' if invalid else "") + f">{items}</select>")


def hidden(name: str, value) -> str:
    return f'<input type="hidden" name="{e(name)}" value="{e(value)}">' if value else ""


def pager(number: int, total: int, link) -> str:
    """Vorige / Pagina n van m / Volgende under a list of ``total`` items; ``link(n)`` is page n's address."""
    pages = -(-total // PER_PAGE)
    if pages <= 1:
        return ""
    links = []
    if number > 1:
        links.append(f'<a href="{e(link(number - 1))}">Vorige</a>')
    links.append(f"<span>Pagina {number} van {pages}</span>")
    if number < pages:
        links.append(f'<a href="{e(link(number + 1))}">Volgende</a>')
    return f'<nav class="blader" aria-label="Pagina\'s">{"".join(links)}</nav>'


def when(iso: str | None) -> str:
    """An ISO time (UTC) as Dutch local date and time: 29-11-2026 18:14."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def names(people) -> str:
    return ", ".join(p.get("name") or "onbekend" for p in people or [])


# -- errors --------------------------------------------------------------------------------------------------

def describe(exc: Exception) -> tuple[int, str, list[str], dict]:
    """(status, message, field messages, details) of an error, as the API would answer it: a service's
    Dutch message for its domain errors; for anything else the API's own generic answer (logged there)."""
    if isinstance(exc, AkkoordError):
        details = exc.details if isinstance(exc.details, dict) else {}
        message = exc.message if isinstance(exc.message, str) and exc.message else "Er ging iets mis."
        return exc.status, message, _field_messages(details), details
    response = from_exception(exc)  # logs it, and says whether it is "unavailable" (503) or ours (500)
    try:
        message = json.loads(response.get_data(as_text=True))["message"]
    except (ValueError, KeyError):
        message = "Er ging iets mis aan onze kant."
    return response.status_code, message, [], {}


def _field_messages(details: dict) -> list[str]:
    out = []
    fields = details.get("fields")
    if isinstance(fields, dict):
        for value in fields.values():
            for text in (value if isinstance(value, list) else [value]):
                if isinstance(text, str):
                    out.append(text)
                elif isinstance(text, dict):  # nested schema errors
                    out.extend(t for v in text.values() for t in (v if isinstance(v, list) else [v])
                               if isinstance(t, str))
    return out


def invalid_fields(details: dict) -> set:
    names_ = set()
    if isinstance(details.get("field"), str):
        names_.add(details["field"])
    if isinstance(details.get("fields"), dict):
        names_.update(str(k) for k in details["fields"])
    return names_


def _form_failure(exc: Exception):
    """(status, errors, invalid fields, headers) for a form shown again after a service refused it; an error
    of ours (500) or the services being away (503) is raised on, for the general error page."""
    status, message, extra, details = describe(exc)
    if status >= 500:
        raise exc
    headers = retry_after(status, details) or None
    left = details.get("attempts_left")
    if isinstance(left, int) and not isinstance(left, bool) and left > 0:
        extra = extra + [f"U kunt het nog {left} keer proberen." if left > 1 else
                         "U kunt het nog één keer proberen."]
    return status, (message, extra), invalid_fields(details), headers


class FormError(AkkoordError):
    """A form the page itself refuses before calling a service (a missing field, two passwords that differ)."""
    status, code = 422, "invalid"


class _Redirect(Exception):
    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


# -- the request as a page sees it ----------------------------------------------------------------------------

class Visit:
    """One page request: the caller, its session cookie and (once resolved) principal, and what the page
    header shows."""

    def __init__(self, request):
        self.request = request
        self.ip = client_ip(request)
        self.user_agent = request.headers.get("User-Agent", "")[:500]
        self.token = request.cookies.get(SESSION_COOKIE) or None
        self.principal = None
        self.me = None
        self.brand = None
        self.nonce = None
        self.clear_cookie = False

    @property
    def audit(self) -> dict:
        return {"ip": self.ip, "user_agent": self.user_agent}

    @property
    def user(self) -> dict | None:
        return (self.me or {}).get("user") if self.principal else None

    def form(self, name: str) -> str:
        return self.request.form.get(name, "")

    def html(self, title: str, body: str, status: int = 200, headers=None, refresh: int | None = None) -> Response:
        """The page; ``refresh``: reload it after that many seconds (a page that follows work in progress)."""
        if self.brand and self.brand.get("color"):
            self.nonce = secrets.token_urlsafe(16)
        page = layout(title, body, brand=self.brand, user=self.user, nonce=self.nonce, refresh=refresh)
        return Response(page, status=status, mimetype="text/html", headers=headers)


def redirect(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


def _content_security_policy(nonce: str | None) -> str:
    style = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return (f"default-src 'none'; style-src {style}; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


def _finish(response: Response, visit: Visit) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _content_security_policy(visit.nonce))
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    if visit.clear_cookie:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=public_is_https(), httponly=True, samesite="Lax")
    return response


def _check_form(request):
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise _FormTooLarge()
    for values in request.form.listvalues():
        for value in values:
            if "\x00" in value:
                raise FormError("De invoer bevat een ongeldig teken.")


class _FormTooLarge(AkkoordError):
    status, code = 413, "too_large"

    def __init__(self):
        super().__init__("Het formulier is te groot.")


CROSS_SITE = ("Dit formulier komt niet van het portaal zelf en is daarom geweigerd. Open het portaal "
              "opnieuw via het adres van uw kantoor en probeer het nog eens.")


def page(methods: str, path: str, upload: bool = False):
    """A web page: the handler is called as ``fn(self, request, visit, **path_args)`` and returns a werkzeug
    Response. Every POST passes the same-origin check first; every error becomes a Dutch page. A form posts at
    most 64 KiB; an ``upload`` page reads its file itself, with the API's own upload checks (size, type)."""

    def decorator(fn):
        @functools.wraps(fn)
        def endpoint(self, request, **path_args):
            started = time.perf_counter()
            visit = Visit(request)
            try:
                if request.method not in SAFE_METHODS:
                    try:
                        check_same_site(request)
                    except AkkoordError:
                        response = visit.html("Geweigerd", error_box((CROSS_SITE, [])), status=403)
                        return _logged(_finish(response, visit), request, started)
                    if not upload:
                        _check_form(request)
                response = fn(self, request, visit, **path_args)
            except _Redirect as exc:
                response = redirect(exc.location)
            except Exception as exc:  # every error leaves as a Dutch page, never a stack trace
                status, message, extra, details = describe(exc)
                headers = retry_after(status, details)
                response = visit.html("Er ging iets mis", error_box((message, extra)), status=status,
                                      headers=headers)
            return _logged(_finish(response, visit), request, started)

        return http(methods, path)(endpoint)

    return decorator


def _logged(response, request, started):
    # the path only: ids, never a query string (a page puts no secret in one, but a user might)
    log.info("page", extra={"method": request.method, "path": request.path, "status": response.status_code,
                            "ms": round((time.perf_counter() - started) * 1000, 1)})
    return response


# -- the pages -------------------------------------------------------------------------------------------------

class PageRoutes:
    # -- session helpers (not entrypoints) ---------------------------------------------------------------------
    def _page_principal(self, visit: Visit):
        """The principal behind the session cookie, or None (the cookie is then cleared if it was stale)."""
        if not visit.token:
            return None
        try:
            visit.principal = self.resolve_principal(visit.token, visit.ip)
        except AkkoordError as exc:
            if exc.status != 401:
                raise
            visit.clear_cookie = True
            return None
        return visit.principal

    def _page_login_required(self, visit: Visit, back: str | None = None) -> dict:
        if self._page_principal(visit) is None:
            query = {"terug": back} if back and RETURN_PATH.fullmatch(back) else {}
            if visit.clear_cookie:
                query["melding"] = "verlopen"
            raise _Redirect("/inloggen" + (f"?{urlencode(query)}" if query else ""))
        self._page_header(visit)
        return visit.principal

    def _page_header(self, visit: Visit):
        """Who is logged in and the branch's name and colour for the page header."""
        me = visit.me = self.identity.me(principal=visit.principal)
        firm = me.get("firm") or {}
        branch = me.get("branch") or None
        brand = {"name": firm.get("name"), "color": None}
        if branch:
            shown = branch.get("display_name")
            if not shown or shown == branch.get("name"):  # no name of its own: the firm and the branch
                shown = " · ".join(part for part in (firm.get("name"), branch.get("name")) if part)
            brand["name"] = shown
            try:
                colour = self.identity.branch_layout(branch_id=branch["id"]).get("primary_color")
            except AkkoordError:
                colour = None
            if isinstance(colour, str) and COLOR.fullmatch(colour):
                brand["color"] = colour
        visit.brand = brand

    # -- static ------------------------------------------------------------------------------------------------
    @http("GET", "/portaal.css")
    def page_stylesheet(self, request):
        return Response(STYLESHEET, mimetype="text/css", headers={
            "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    # -- start -------------------------------------------------------------------------------------------------
    @page("GET", "/")
    def page_home(self, request, visit):
        principal = self._page_principal(visit)
        if not principal:
            return redirect("/inloggen")
        return redirect(landing(principal.get("kind")))

    # -- activation --------------------------------------------------------------------------------------------
    @page("GET,POST", "/activeren")
    def page_activate(self, request, visit):
        if request.method != "POST":
            return visit.html("Account activeren", self._page_activate_form(visit))
        username = visit.form("username").strip()
        code, password, repeat = visit.form("activation_code"), visit.form("password"), visit.form("password2")
        try:
            if not username or not code.strip() or not password:
                raise FormError("Vul uw gebruikersnaam, de activeringscode en een nieuw wachtwoord in.")
            if password != repeat:
                raise FormError("De twee wachtwoorden zijn niet gelijk.", {"field": "password2"})
            self.identity.activate(payload={"username": username, "activation_code": code.strip(),
                                            "password": password})
        except AkkoordError as exc:
            status, errors, invalid, headers = _form_failure(exc)
            body = self._page_activate_form(visit, username, errors, invalid)
            return visit.html("Account activeren", body, status=status, headers=headers)
        return redirect("/inloggen?melding=geactiveerd")

    def _page_activate_form(self, visit, username="", errors=None, invalid=()) -> str:
        invalid = set(invalid)
        return ('<div class="vlak"><h1>Account activeren</h1>'
                "<p>Met de activeringscode uit uw brief kiest u uw eigen wachtwoord. Daarna logt u in.</p>"
                + error_box(errors)
                + '<form method="post" action="/activeren">'
                + field("Gebruikersnaam", "username", value=username, autocomplete="username",
                        invalid="username" in invalid, extra='autocapitalize="none" spellcheck="false"')
                + field("Activeringscode", "activation_code", autocomplete="one-time-code",
                        hint="Zoals in uw brief staat; hoofdletters en streepjes maken niet uit.",
                        invalid="activation_code" in invalid, extra='autocapitalize="none" spellcheck="false"')
                + field("Nieuw wachtwoord", "password", kind="password", autocomplete="new-password",
                        hint="Minstens 8 tekens. Een zin van een paar woorden is sterk en goed te onthouden; "
                             "gebruik niet uw gebruikersnaam of een bekend wachtwoord.",
                        invalid="password" in invalid, extra='maxlength="128"')
                + field("Herhaal het nieuwe wachtwoord", "password2", kind="password", autocomplete="new-password",
                        invalid="password2" in invalid, extra='maxlength="128"')
                + '<button type="submit">Activeren</button></form>'
                + '<p><a href="/inloggen">Ik heb al een wachtwoord: inloggen</a></p></div>')

    # -- login, SMS step, logout -------------------------------------------------------------------------------
    @page("GET,POST", "/inloggen")
    def page_login(self, request, visit):
        back = _return_path(request.values.get("terug"))
        if request.method != "POST":
            principal = self._page_principal(visit)
            if principal:
                return redirect(landing(principal.get("kind")) if back == DEFAULT_RETURN else back)
            notice = NOTICES.get(request.args.get("melding", ""))
            return visit.html("Inloggen", self._page_login_form(back=back, notice=notice))
        username = visit.form("username").strip()
        try:
            if not username or not visit.form("password"):
                raise FormError("Vul uw gebruikersnaam en wachtwoord in.")
            answer = self.identity.login(payload={"username": username, "password": visit.form("password")},
                                         ip=visit.ip)
        except AkkoordError as exc:
            return self._page_login_failed(visit, exc, username, back)
        if answer.get("token"):
            return self._page_logged_in(visit, answer, back)
        # the user logs in with an SMS code as well
        return visit.html("Sms-code", self._page_sms_form(answer.get("challenge_id"), answer.get("to"), back))

    @page("GET,POST", "/inloggen/sms")
    def page_login_sms(self, request, visit):
        if request.method != "POST":
            return redirect("/inloggen")
        back = _return_path(visit.form("terug"))
        challenge = visit.form("challenge_id")
        if not CHALLENGE_ID.fullmatch(challenge):
            return visit.html("Inloggen", self._page_login_form(
                back=back, errors=("Deze inlogpoging bestaat niet of is verlopen; log opnieuw in.", [])), status=401)
        try:
            if not visit.form("code").strip():
                raise FormError("Vul de sms-code in.", {"field": "code"})
            answer = self.identity.login_sms(payload={"challenge_id": challenge, "code": visit.form("code").strip()},
                                             ip=visit.ip)
        except AkkoordError as exc:
            status, message, extra, details = describe(exc)
            if status >= 500:
                raise
            if exc.code in ("wrong_code", "invalid"):  # try again with the same SMS
                return visit.html("Sms-code", self._page_sms_form(challenge, None, back, (message, extra)),
                                  status=status)
            return self._page_login_failed(visit, exc, "", back)  # expired, gone, throttled: start over
        return self._page_logged_in(visit, answer, back)

    def _page_login_failed(self, visit, exc, username, back):
        status, errors, _invalid, headers = _form_failure(exc)
        body = self._page_login_form(username=username, back=back, errors=errors)
        return visit.html("Inloggen", body, status=status, headers=headers)

    def _page_logged_in(self, visit, answer, back):
        token = answer["token"]
        if back == DEFAULT_RETURN:  # nothing asked for: staff start on their own pages
            back = landing((answer.get("user") or {}).get("kind"))
        # a session this browser still held (another account, or the same one) ends: one session per cookie
        if visit.token and visit.token != token:
            try:
                if self._page_principal(visit):
                    self.identity.logout(principal=visit.principal)
                self.principals.forget_token(visit.token)
            except Exception:  # the new login counts; the old session still ends at its expiry
                log.warning("could not end the previous session of this browser")
        visit.clear_cookie = False
        response = redirect(back)
        response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="Lax",
                            secure=public_is_https())
        return response

    def _page_login_form(self, username="", back="/accorderen", errors=None, notice=None) -> str:
        return ('<div class="vlak"><h1>Inloggen</h1>'
                + notice_box(notice) + error_box(errors)
                + '<form method="post" action="/inloggen">'
                + hidden("terug", back if back != "/accorderen" else "")
                + field("Gebruikersnaam", "username", value=username, autocomplete="username",
                        extra='autocapitalize="none" spellcheck="false"')
                + field("Wachtwoord", "password", kind="password", autocomplete="current-password")
                + '<button type="submit">Inloggen</button></form>'
                + '<p>Nieuw account of een activeringscode ontvangen? <a href="/activeren">Account activeren</a></p>'
                + "<p class=\"hint\">Wachtwoord vergeten? Vraag uw kantoor om een nieuwe activeringscode.</p>"
                + "</div>")

    def _page_sms_form(self, challenge_id, to, back, errors=None) -> str:
        sent = f"We hebben een sms-code gestuurd naar {to}." if to else "We hebben u een sms-code gestuurd."
        return ('<div class="vlak"><h1>Inloggen met sms-code</h1>'
                + error_box(errors) + f"<p>{e(sent)} De code is 10 minuten geldig.</p>"
                + '<form method="post" action="/inloggen/sms">'
                + hidden("challenge_id", challenge_id) + hidden("terug", back if back != "/accorderen" else "")
                + field("Sms-code", "code", autocomplete="one-time-code", invalid=bool(errors),
                        extra='inputmode="numeric" maxlength="12"')
                + '<button type="submit">Inloggen</button></form>'
                + '<p><a href="/inloggen">Geen sms ontvangen? Opnieuw inloggen</a></p></div>')

    @page("GET,POST", "/uitloggen")
    def page_logout(self, request, visit):
        if request.method != "POST":  # a typed or bookmarked address: ask, since a change needs a form post
            if self._page_principal(visit) is None:
                return redirect("/inloggen")
            self._page_header(visit)
            return visit.html("Uitloggen", '<div class="vlak"><h1>Uitloggen</h1><p>Wilt u uitloggen?</p>'
                                           '<form method="post" action="/uitloggen"><button type="submit">'
                                           'Uitloggen</button></form></div>')
        try:
            if visit.token and self._page_principal(visit):
                self.identity.logout(principal=visit.principal)
        finally:  # identity away: this browser still forgets the session (a shared computer), the error is shown
            if visit.token:
                self.principals.forget_token(visit.token)
            visit.principal, visit.me = None, None
            visit.clear_cookie = True
        return redirect("/inloggen?melding=uitgelogd")

    # -- the approval screen -----------------------------------------------------------------------------------
    @page("GET", "/accorderen")
    def page_approvals(self, request, visit):
        principal = self._page_login_required(visit)
        try:
            number = max(1, min(int(request.args.get("pagina", "1")), 100000))
        except ValueError:
            number = 1
        listing = self.approval.list_requests(principal=principal, query={
            "status": "pending", "page": number, "per_page": PER_PAGE})
        staff = principal.get("kind") == "staff"
        parts = ["<h1>Accorderen</h1>"]
        if staff:
            parts.append(notice_box("Accorderen doen de cliëntgebruikers zelf, met hun PIN-code of een sms-code. "
                                    "U ziet hier de verzoeken van uw kantoor die nog op akkoord wachten.",
                                    "let-op"))
        items = listing.get("items") or []
        # a request this user decided already stays pending while it waits for others: listed apart
        todo = [item for item in items if not item.get("my_decision")]
        decided = [item for item in items if item.get("my_decision")]
        if not todo:
            parts.append('<div class="vlak"><p>Er wachten geen documenten op '
                         + ("akkoord" if staff else "uw akkoord") + ".</p></div>")
        else:
            caption = ("Openstaande verzoeken" if staff else "Documenten die op uw akkoord wachten") \
                + (f" ({int(listing.get('total') or 0)})" if staff or not decided else "")
            parts.append(_request_table(caption, todo))
        if decided:
            parts.append(_request_table("Door u beoordeeld, wacht nog op anderen", decided, waiting=True))
        parts.append(pager(number, int(listing.get("total") or 0), lambda n: f"/accorderen?pagina={n}"))
        return visit.html("Accorderen", "".join(parts))

    # -- one request -------------------------------------------------------------------------------------------
    @page("GET", "/accorderen/<int:request_id>")
    def page_request(self, request, visit, request_id):
        self._page_login_required(visit, back=f"/accorderen/{request_id}")
        notice = None
        if request.args.get("sms") == "verstuurd":
            notice = "Er is een sms-code naar uw mobiele nummer gestuurd. De code is 10 minuten geldig."
        return self._page_request_view(visit, request_id, notice=notice, just_decided=bool(request.args.get("klaar")))

    @page("GET,POST", "/accorderen/<int:request_id>/sms")
    def page_request_sms(self, request, visit, request_id):
        return self._page_decision(request, visit, request_id, "sms=verstuurd", lambda principal: (
            self.approval.send_code(principal=principal, request_id=request_id, audit=visit.audit)))

    @page("GET,POST", "/accorderen/<int:request_id>/akkoord")
    def page_approve(self, request, visit, request_id):
        return self._page_decision(request, visit, request_id, "klaar=1", lambda principal: (
            self.approval.approve(principal=principal, request_id=request_id, payload=self._page_secret(visit),
                                  audit=visit.audit)))

    @page("GET,POST", "/accorderen/<int:request_id>/afwijzen")
    def page_decline(self, request, visit, request_id):
        reason = visit.form("reason").strip()

        def decline(principal):
            if not reason:
                raise FormError("Geef een reden voor de afwijzing.", {"field": "reason"})
            payload = dict(self._page_secret(visit), reason=reason)
            self.approval.decline(principal=principal, request_id=request_id, payload=payload, audit=visit.audit)

        return self._page_decision(request, visit, request_id, "klaar=1", decline, reason=reason)

    def _page_decision(self, request, visit, request_id, done: str, act, reason: str = ""):
        """A form of the request page: ``act(principal)`` asks approval; then back to the request page with
        ``done`` in its query, or the page again with approval's Dutch message."""
        if request.method != "POST":  # the form's address typed or reloaded: the request page
            return redirect(f"/accorderen/{request_id}")
        principal = self._page_login_required(visit, back=f"/accorderen/{request_id}")
        try:
            act(principal)
        except AkkoordError as exc:
            return self._page_request_error(visit, request_id, exc, reason=reason)
        return redirect(f"/accorderen/{request_id}?{done}")

    def _page_secret(self, visit) -> dict:
        pin, code = visit.form("pin").strip(), visit.form("code").strip()
        if pin:
            return {"pin": pin}
        if code:
            return {"code": code}
        if "code" in visit.request.form:
            raise FormError("Vul de sms-code in.", {"field": "code"})
        raise FormError("Vul uw PIN-code in.", {"field": "pin"})

    def _page_request_error(self, visit, request_id, exc, reason=""):
        if isinstance(exc, AkkoordError) and exc.status == 404:
            raise exc  # the request is gone (or never visible): the general "not found" page
        status, errors, invalid, headers = _form_failure(exc)
        return self._page_request_view(visit, request_id, errors=errors, status=status, invalid=invalid,
                                       reason=reason, headers=headers)

    def _page_request_view(self, visit, request_id, notice=None, errors=None, status=200, invalid=(),
                           reason="", headers=None, just_decided=False):
        principal = visit.principal
        item = self.approval.get_request(principal=principal, request_id=request_id)
        if just_decided and item.get("my_decision"):  # back from the form: say so (a link alone says nothing)
            notice = "Uw beslissing is vastgelegd."
        client = item.get("client") or {}
        rid = int(item["id"])
        parts = ['<p><a href="/accorderen">← Terug naar het overzicht</a></p>',
                 f"<h1>{e(item.get('title'))}</h1>", notice_box(notice), error_box(errors)]
        state = _state_text(item)
        if state:
            parts.append(notice_box(state, "melding" if item.get("status") != "declined" else "let-op"))
        details = [("Cliënt", (client.get("name") or "")
                    + (f" ({client['number']})" if client.get("number") else "")),
                   ("Documenttype", item.get("document_type_name") or item.get("document_type")),
                   ("Aangeboden op", when(item.get("opened_at"))),
                   ("Status", item.get("status_label") or item.get("status"))]
        if item.get("approved_by"):
            details.append(("Geaccordeerd door", ", ".join(
                f"{p.get('name') or 'onbekend'} ({when(p.get('at'))})" for p in item["approved_by"])))
        if item.get("status") == "pending" and item.get("waiting_for"):
            details.append(("Wacht op", names(item["waiting_for"])))
        if item.get("declined_by"):
            details.append(("Afgewezen door", names(item["declined_by"])))
        if item.get("reason"):
            details.append(("Reden", item["reason"]))
        details.append(("Vingerafdruk (SHA-256)", item.get("sha256")))
        rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in details)
        parts.append(f'<div class="vlak"><dl>{rows}</dl>'
                     f'<p><a href="/api/v1/approvals/{rid}/document">Document downloaden (PDF)</a></p>'
                     # decided: the evidence certificate, which the API serves to whoever sees the request
                     + (f'<p><a href="/api/v1/approvals/{rid}/evidence?format=pdf">Bewijs van de beslissing '
                        'downloaden (PDF)</a></p>' if item.get("status") in ("approved", "declined") else "")
                     + (f'<p class="hint">{e(item["rights_changed_note"])}</p>' if item.get("rights_changed_note")
                        else "") + "</div>")
        parts.append(self._page_decision_forms(visit, item, invalid, reason))
        return visit.html(item.get("title") or "Accordeerverzoek", "".join(parts), status=status, headers=headers)

    def _page_decision_forms(self, visit, item, invalid, reason) -> str:
        principal = visit.principal
        if principal.get("kind") != "client":
            return notice_box("Accorderen en afwijzen doen de cliëntgebruikers zelf; als medewerker bekijkt u "
                              "hier alleen het verzoek.", "let-op")
        if item.get("status") != "pending" or item.get("my_decision") or not item.get("my_role"):
            return ""
        if "approval" not in (principal.get("rights") or []):
            return notice_box("U heeft geen rechten om documenten te accorderen.", "let-op")
        rid = int(item["id"])
        user = visit.user or {}
        sms = user.get("confirmation") == "sms" or item.get("my_role") == "must"
        invalid = set(invalid)
        if sms:
            secret_name, label, how = "code", "Sms-code", (
                "U bevestigt met een sms-code die alleen voor dit document geldt. Vraag eerst de code aan; "
                "u ontvangt hem op uw mobiele nummer.")
            extra = 'inputmode="numeric" maxlength="12"'
        else:
            secret_name, label, how = "pin", "PIN-code", "U bevestigt met de PIN-code uit de brief van uw kantoor."
            extra = 'inputmode="numeric" maxlength="32"'

        def secret(suffix):
            return field(label, secret_name, kind="text" if sms else "password",
                         autocomplete="one-time-code" if sms else "off", field_id=f"{secret_name}-{suffix}",
                         invalid=secret_name in invalid, extra=extra)

        out = [f'<div class="vlak"><h2>Uw beslissing</h2><p>{e(how)}</p>']
        if sms:
            out.append(f'<form method="post" action="/accorderen/{rid}/sms">'
                       '<button type="submit" class="tweede">SMS-code sturen</button></form>')
        out.append('<div class="acties">'
                   f'<form method="post" action="/accorderen/{rid}/akkoord"><h2>Akkoord geven</h2>'
                   + secret("akkoord") + '<button type="submit">Akkoord</button></form>'
                   f'<form method="post" action="/accorderen/{rid}/afwijzen"><h2>Afwijzen</h2>'
                   '<label for="reden">Reden van afwijzing</label>'
                   '<p class="hint" id="reden-uitleg">Het kantoor ziet deze reden en kan een verbeterd document '
                   'sturen.</p>'
                   '<textarea id="reden" name="reason" required maxlength="2000" aria-describedby="reden-uitleg"'
                   + (' aria-invalid="true"' if "reason" in invalid else "") + f">{e(reason)}</textarea>"
                   + secret("afwijzen") + '<button type="submit" class="nee">Niet akkoord</button></form>'
                   "</div></div>")
        return "".join(out)

    # -- my account ("Mijn gegevens") ------------------------------------------------------------------------
    @page("GET", "/mijn-gegevens")
    def page_account(self, request, visit):
        self._page_login_required(visit, back="/mijn-gegevens")
        me = visit.me or {}
        user = me.get("user") or {}
        client_user = user.get("kind") == "client"
        rows = [("Naam", user.get("name")), ("Gebruikersnaam", user.get("username")),
                ("E-mailadres", user.get("email") or "Geen e-mailadres bekend"),
                ("Mobiel nummer", user.get("mobile") or "Geen mobiel nummer bekend")]
        if client_user:
            rows.append(("Bevestigen (akkoord geven)",
                         CONFIRMATION_LABELS.get(user.get("confirmation"), "Nog niet ingesteld door uw kantoor")))
        rows.append(("Inloggen", LOGIN_LABELS.get(user.get("login"), "Met uw wachtwoord")))
        details = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows)
        parts = ['<p><a href="/accorderen">← Terug naar Accorderen</a></p>', "<h1>Mijn gegevens</h1>",
                 notice_box(ACCOUNT_NOTICES.get(request.args.get("melding", ""))),
                 f'<div class="vlak"><dl>{details}</dl></div>']
        if client_user:
            clients = me.get("clients") or []
            items = "".join(
                f"<li>{e(c.get('name'))}"
                + (f' <span class="hint">({e(c["number"])})</span>' if c.get("number") else "") + "</li>"
                for c in clients)
            parts.append('<div class="vlak"><h2>Uw cliënten</h2>'
                         + (f"<ul>{items}</ul>" if items else "<p>U bent aan geen cliënt gekoppeld.</p>")
                         + "</div>")
        parts.append('<div class="vlak"><h2>Wijzigen</h2><ul>'
                     '<li><a href="/mijn-gegevens/wachtwoord">Wachtwoord wijzigen</a></li>'
                     '<li><a href="/mijn-gegevens/mobiel">Mobiel nummer wijzigen</a></li></ul>'
                     '<p class="hint">Klopt uw naam of e-mailadres niet? Vraag uw kantoor dit aan te passen.</p>'
                     "</div>")
        return visit.html("Mijn gegevens", "".join(parts))

    @page("GET,POST", "/mijn-gegevens/wachtwoord")
    def page_password(self, request, visit):
        principal = self._page_login_required(visit, back="/mijn-gegevens/wachtwoord")
        if request.method != "POST":
            return visit.html("Wachtwoord wijzigen", self._page_password_form())
        current, new, repeat = visit.form("current_password"), visit.form("new_password"), visit.form("new_password2")
        try:
            if not current or not new:
                raise FormError("Vul uw huidige wachtwoord en een nieuw wachtwoord in.",
                                {"field": "current_password" if not current else "new_password"})
            if new != repeat:
                raise FormError("De twee nieuwe wachtwoorden zijn niet gelijk.", {"field": "new_password2"})
            self.identity.change_password(principal=principal, payload={"current_password": current,
                                                                        "new_password": new})
        except AkkoordError as exc:
            status, errors, invalid, headers = _form_failure(exc)
            return visit.html("Wachtwoord wijzigen", self._page_password_form(errors, invalid), status=status,
                              headers=headers)
        # identity ended the user's other sessions and kept this one; this gateway forgets them now (the others
        # on identity's event), and the browser stays logged in only if its own session really goes on
        self.principals.forget_users([principal.get("user_id")])
        if self._page_principal(visit) is None:
            visit.principal, visit.me = None, None
            return redirect("/inloggen?melding=wachtwoord")
        return redirect("/mijn-gegevens?melding=wachtwoord")

    def _page_password_form(self, errors=None, invalid=()) -> str:
        invalid = set(invalid)
        return ('<p><a href="/mijn-gegevens">← Terug naar Mijn gegevens</a></p>'
                '<div class="vlak"><h1>Wachtwoord wijzigen</h1>'
                "<p>Na de wijziging worden uw andere sessies (op andere apparaten of in andere browsers) "
                "beëindigd; hier blijft u ingelogd.</p>"
                + error_box(errors)
                + '<form method="post" action="/mijn-gegevens/wachtwoord">'
                + field("Huidig wachtwoord", "current_password", kind="password", autocomplete="current-password",
                        invalid="current_password" in invalid, extra='maxlength="1024"')
                + field("Nieuw wachtwoord", "new_password", kind="password", autocomplete="new-password",
                        hint="Minstens 8 tekens. Een zin van een paar woorden is sterk en goed te onthouden; "
                             "gebruik niet uw gebruikersnaam of een bekend wachtwoord.",
                        invalid=bool({"new_password", "password"} & invalid), extra='maxlength="128"')
                + field("Herhaal het nieuwe wachtwoord", "new_password2", kind="password",
                        autocomplete="new-password", invalid="new_password2" in invalid, extra='maxlength="128"')
                + '<button type="submit">Wachtwoord wijzigen</button></form></div>')

    @page("GET,POST", "/mijn-gegevens/mobiel")
    def page_mobile(self, request, visit):
        principal = self._page_login_required(visit, back="/mijn-gegevens/mobiel")
        if request.method != "POST":
            return visit.html("Mobiel nummer wijzigen", self._page_mobile_form(visit))
        number, pin = visit.form("mobile").strip(), visit.form("pin").strip()
        try:
            if not number:
                raise FormError("Vul uw nieuwe mobiele nummer in.", {"field": "mobile"})
            if not pin:
                raise FormError("Vul uw PIN-code in.", {"field": "pin"})
            answer = self.identity.change_mobile(principal=principal, payload={"mobile": number, "pin": pin})
        except AkkoordError as exc:
            status, errors, invalid, headers = _form_failure(exc)
            return visit.html("Mobiel nummer wijzigen", self._page_mobile_form(visit, number, errors, invalid),
                              status=status, headers=headers)
        return visit.html("Mobiel nummer bevestigen", self._page_mobile_code_form((answer or {}).get("to")))

    @page("GET,POST", "/mijn-gegevens/mobiel/bevestigen")
    def page_mobile_confirm(self, request, visit):
        principal = self._page_login_required(visit, back="/mijn-gegevens/mobiel")
        if request.method != "POST":  # back to the code form (a reload, or the SMS read later)
            return visit.html("Mobiel nummer bevestigen", self._page_mobile_code_form(None))
        code = visit.form("code").strip()
        try:
            if not code:
                raise FormError("Vul de sms-code in.", {"field": "code"})
            self.identity.confirm_mobile(principal=principal, payload={"code": code})
        except AkkoordError as exc:
            status, errors, invalid, headers = _form_failure(exc)
            if getattr(exc, "code", None) == "code_expired":  # expired, used up or never asked: start over
                return visit.html("Mobiel nummer wijzigen", self._page_mobile_form(visit, errors=errors),
                                  status=status, headers=headers)
            return visit.html("Mobiel nummer bevestigen", self._page_mobile_code_form(None, errors), status=status,
                              headers=headers)
        return redirect("/mijn-gegevens?melding=mobiel")

    def _page_mobile_form(self, visit, number="", errors=None, invalid=()) -> str:
        user = visit.user or {}
        invalid = set(invalid)
        out = ['<p><a href="/mijn-gegevens">← Terug naar Mijn gegevens</a></p>'
               '<div class="vlak"><h1>Mobiel nummer wijzigen</h1>',
               f'<p>Uw huidige nummer: {e(user.get("mobile") or "geen mobiel nummer bekend")}.</p>',
               error_box(errors)]
        if user.get("kind") != "client":
            out.append(notice_box(MOBILE_STAFF, "let-op") + "</div>")
            return "".join(out)
        if user.get("confirmation") == "sms":
            out.append(notice_box(MOBILE_SMS_USER, "let-op") + "</div>")
            return "".join(out)
        out.append("<p>U wijzigt uw nummer met de PIN-code uit de brief van uw kantoor. Daarna sturen we een "
                   "sms-code naar het nieuwe nummer; pas als u die invult, gebruiken we het nieuwe nummer.</p>"
                   '<form method="post" action="/mijn-gegevens/mobiel">'
                   + field("Nieuw mobiel nummer", "mobile", kind="tel", value=number, autocomplete="tel",
                           hint="Bijvoorbeeld 06 12345678 of +31 6 12345678.", invalid="mobile" in invalid,
                           extra='maxlength="30"')
                   + field("PIN-code", "pin", kind="password", invalid="pin" in invalid,
                           extra='inputmode="numeric" maxlength="32"')
                   + '<button type="submit">Sms-code sturen</button></form></div>')
        return "".join(out)

    def _page_mobile_code_form(self, to, errors=None) -> str:
        sent = (f"We hebben een sms-code gestuurd naar uw nieuwe nummer {to}. De code is 10 minuten geldig."
                if to else "Vul de sms-code in die we naar uw nieuwe mobiele nummer hebben gestuurd.")
        return ('<p><a href="/mijn-gegevens">← Terug naar Mijn gegevens</a></p>'
                '<div class="vlak"><h1>Nieuw mobiel nummer bevestigen</h1>'
                + error_box(errors) + (notice_box(sent) if to else f"<p>{e(sent)}</p>")
                + '<form method="post" action="/mijn-gegevens/mobiel/bevestigen">'
                + field("Sms-code", "code", autocomplete="one-time-code", invalid=bool(errors),
                        extra='inputmode="numeric" maxlength="12"')
                + '<button type="submit">Bevestigen</button></form>'
                + '<p><a href="/mijn-gegevens/mobiel">Geen sms ontvangen? Opnieuw aanvragen</a></p></div>')


def _request_table(caption: str, items: list, waiting: bool = False) -> str:
    rows = []
    for item in items:
        client = item.get("client") or {}
        number = f' <span class="hint">({e(client["number"])})</span>' if client.get("number") else ""
        last = names(item.get("waiting_for")) if waiting else when(item.get("opened_at"))
        rows.append(f'<tr><td>{e(client.get("name"))}{number}</td>'
                    f'<td>{e(item.get("document_type_name") or item.get("document_type"))}</td>'
                    f'<td><a href="/accorderen/{int(item["id"])}">{e(item.get("title"))}</a></td>'
                    f"<td>{e(last)}</td></tr>")
    return (f'<table><caption>{e(caption)}</caption><thead><tr>'
            '<th scope="col">Cliënt</th><th scope="col">Documenttype</th><th scope="col">Titel</th>'
            f'<th scope="col">{"Wacht op" if waiting else "Aangeboden op"}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _state_text(item) -> str | None:
    status, mine = item.get("status"), item.get("my_decision")
    if status == "approved":
        return "Dit document is geaccordeerd." if mine != "approved" else \
            "U heeft dit document geaccordeerd. Het document is nu geaccordeerd."
    if status == "declined":
        return "Dit document is afgewezen." if mine != "declined" else \
            "U heeft dit document afgewezen. Het kantoor ziet uw reden."
    if status == "withdrawn":
        return "Het kantoor heeft dit verzoek ingetrokken."
    if status == "pending" and mine == "approved":
        waiting = names(item.get("waiting_for"))
        return "U heeft dit document geaccordeerd. Het wacht nog op het akkoord van anderen" + \
            (f": {waiting}." if waiting else ".")
    return None


DEFAULT_RETURN = "/accorderen"


def landing(kind: str | None) -> str:
    """Where a user starts: client users on their approval screen, staff on the firm's pages."""
    return "/kantoor" if kind == "staff" else DEFAULT_RETURN


def _return_path(value) -> str:
    """Where to go after logging in: only our own approval pages, never a URL someone else chose."""
    if value and RETURN_PATH.fullmatch(value) and not urlsplit(value).netloc:
        return value
    return DEFAULT_RETURN
