"""The web pages for staff (kantoormedewerkers) under /kantoor: a start page, client search, one client with its
users (a new user with its activation letter, PIN letters, the confirmation and login method) and a document
offered for approval, and the status of a letter batch with its download.

Staff log in through the client pages' /inloggen (the same ``akkoord_session`` cookie); these pages reuse that
module's building blocks (gateway/routes/pages.py: ``@page``, ``Visit``, ``layout``, ``field``, the error and
notice boxes, the stylesheet's classes). Every answer comes from the same RPCs as the JSON API
(gateway/routes/identity.py, letters.py, approval.py) with the visitor's principal, so identity, letters and
approval enforce firm, branch and client scope and the module rights themselves; their Dutch refusals are shown
with their status. A client user gets a 403 page here.

- Every POST passes the same-origin check first (``@page``); the one multipart form (``upload=True``) has its
  size and type checked by the API's own upload code (``gateway.routes.approval._form``: 20 MB, multipart only;
  approval checks that it is a PDF).
- No password, PIN, code or token in a URL, a log line or a page: redirects after a form carry ids and fixed
  words only (a user id, a letter batch id, a request id); PINs and activation codes exist only on the letters.
"""
import base64
from urllib.parse import urlencode

from marshmallow import ValidationError

from chassis.errors import AkkoordError, Forbidden, NotFound
from chassis.principal import Principal
from gateway.routes.approval import UploadForm, _form as upload_form
from gateway.routes.identity import long_call
from gateway.routes.pages import (PER_PAGE, FormError, describe, e, error_box, field, hidden,
                                  invalid_fields, notice_box, page, pager, redirect, select, when)

MAX_ID = 2 ** 63 - 1  # a larger number in a path names nothing (and would not fit the database's bigint)

NOT_STAFF = "Deze pagina's zijn alleen voor medewerkers van het kantoor."

CLIENT_LABELS = (("number", "Cliëntnummer"), ("name", "Naam"), ("legal_form", "Rechtsvorm"),
                 ("kvk", "KvK-nummer"), ("bsn", "BSN"), ("rsin", "RSIN"), ("vat", "Btw-nummer"),
                 ("street", "Straat"), ("house_number", "Huisnummer"), ("postcode", "Postcode"),
                 ("city", "Plaats"), ("country", "Land"), ("email", "E-mail"), ("phone", "Telefoon"),
                 ("mobile", "Mobiel"), ("contact", "Contactpersoon"), ("branch", "Vestiging"))

CONFIRMATIONS = {"pin": "PIN-code", "sms": "sms-code"}
LOGINS = {"password": "wachtwoord", "password_sms": "wachtwoord en sms-code"}
RIGHTS = {"approval": "accorderen", "filing": "deponeren", "documents": "documenten", "news": "nieuws",
          "users": "gebruikers", "admin": "beheer"}
BATCH_KINDS = {"activation": "Activeringsbrieven", "pin": "PIN-brieven"}


# -- small HTML helpers ----------------------------------------------------------------------------------------

def nav(current: str) -> str:
    links = (("/kantoor", "Kantoor"), ("/kantoor/clienten", "Cliënten"), ("/kantoor/import", "Import"),
             ("/accorderen", "Accorderen"))
    return ('<nav class="blader" aria-label="Kantoor">'
            + "".join(f'<a href="{href}"' + (' aria-current="page"' if href == current else "") + f">{e(text)}</a>"
                      for href, text in links) + "</nav>")


def int_arg(request, name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if is_number(value) else None


def is_number(value: str) -> bool:
    """ASCII digits only (str.isdigit() also passes "²", which int() refuses), short enough for the database."""
    return value.isascii() and value.isdigit() and 0 < len(value) <= 18


def checked(visit, name: str) -> bool:
    return visit.form(name) in ("1", "on", "true")


# -- the pages -------------------------------------------------------------------------------------------------

class StaffPageRoutes:
    def _staff_required(self, visit) -> dict:
        """The logged-in staff member's principal; /inloggen without a session, a 403 page for anyone else."""
        principal = self._page_login_required(visit)
        if principal.get("kind") != "staff":
            raise Forbidden(NOT_STAFF)
        return principal

    # -- start ---------------------------------------------------------------------------------------------------
    @page("GET", "/kantoor")
    def staff_home(self, request, visit):
        principal = self._staff_required(visit)
        user = visit.user or {}
        rights = principal.get("rights") or []
        parts = [nav("/kantoor"), "<h1>Kantoor</h1>",
                 f'<div class="vlak"><p>Welkom, {e(user.get("name") or user.get("username"))}.</p>'
                 '<form method="get" action="/kantoor/clienten">'
                 + field("Cliënt zoeken", "q", hint="Naam, cliëntnummer of KvK-nummer",
                                  field_id="zoek-start", extra='maxlength="200" spellcheck="false"', required=False)
                 + '<button type="submit">Zoeken</button></form></div>',
                 '<div class="vlak"><h2>Wat u hier doet</h2><ul>'
                 '<li><a href="/kantoor/clienten">Cliënten</a>: gegevens, gebruikers, activerings- en '
                 "PIN-brieven, documenten ter accordering aanbieden.</li>"
                 '<li><a href="/accorderen">Accorderen</a>: de verzoeken die nog op akkoord wachten.</li></ul>'
                 f'<p class="hint">Uw rechten: {e(", ".join(RIGHTS.get(r, r) for r in rights) or "geen")}.</p>'
                 "</div>"]
        if not Principal.load(principal).manages_client_users:  # the rule identity and letters apply
            parts.append(notice_box("U heeft geen recht om cliëntgebruikers te beheren; accounts, activerings- "
                                    "en PIN-brieven maakt een collega met dat recht.", "let-op"))
        return visit.html("Kantoor", "".join(parts))

    # -- client search -------------------------------------------------------------------------------------------
    @page("GET", "/kantoor/clienten")
    def staff_clients(self, request, visit):
        principal = self._staff_required(visit)
        q = request.args.get("q", "").strip()
        number = min(int_arg(request, "pagina") or 1, 100000)
        if len(q) > 200 or "\x00" in q:
            raise FormError("Zoek op hoogstens 200 tekens.", {"field": "q"})
        found = self.identity.search_clients(principal=principal, query={
            "q": q or None, "page": number, "per_page": PER_PAGE})
        items = found.get("items") or []
        total = int(found.get("total") or 0)
        parts = [nav("/kantoor/clienten"), "<h1>Cliënten</h1>",
                 '<div class="vlak"><form method="get" action="/kantoor/clienten">'
                 + field("Zoeken", "q", value=q, hint="Naam, cliëntnummer of KvK-nummer",
                                  extra='maxlength="200" spellcheck="false"', required=False)
                 + '<button type="submit">Zoeken</button></form></div>']
        if not items:
            parts.append('<div class="vlak"><p>' + ("Geen cliënten gevonden." if q else "Er zijn nog geen cliënten.")
                         + "</p></div>")
        else:
            rows = "".join(
                f'<tr><td>{e(c.get("number"))}</td>'
                f'<td><a href="/kantoor/clienten/{int(c["id"])}">{e(c.get("name") or c.get("number"))}</a></td>'
                f'<td>{e(c.get("branch"))}</td><td>{e(c.get("city"))}</td></tr>' for c in items)
            caption = f"{total} cliënt" + ("en" if total != 1 else "") + (f" voor ‘{q}’" if q else "")
            parts.append(f"<table><caption>{e(caption)}</caption><thead><tr>"
                         '<th scope="col">Cliëntnummer</th><th scope="col">Naam</th>'
                         '<th scope="col">Vestiging</th><th scope="col">Plaats</th></tr></thead>'
                         f"<tbody>{rows}</tbody></table>")
        parts.append(pager(number, total, lambda n: "/kantoor/clienten?" + urlencode(
            {"q": q, "pagina": n} if q else {"pagina": n})))
        return visit.html("Cliënten", "".join(parts))

    # -- one client ----------------------------------------------------------------------------------------------
    @page("GET", "/kantoor/clienten/<int:client_id>")
    def staff_client(self, request, visit, client_id):
        principal = self._staff_required(visit)
        if client_id > MAX_ID:
            raise NotFound("Deze cliënt bestaat niet.")
        return self._staff_client_view(visit, principal, client_id, outcome=self._staff_outcome(request))

    @page("GET,POST", "/kantoor/clienten/<int:client_id>/gebruikers")
    def staff_client_user_new(self, request, visit, client_id):
        if request.method != "POST" or client_id > MAX_ID:
            return redirect(f"/kantoor/clienten/{client_id}")
        principal = self._staff_required(visit)
        values = {"name": visit.form("name").strip(), "email": visit.form("email").strip(),
                  "mobile": visit.form("mobile").strip(), "superuser": checked(visit, "superuser"),
                  "delivery": visit.form("delivery") or "letter"}
        try:
            if not values["name"]:
                raise FormError("Vul de naam van de gebruiker in.", {"field": "name"})
            if values["delivery"] not in ("letter", "email"):
                raise FormError("Kies hoe de activeringscode de gebruiker bereikt.", {"field": "delivery"})
            created = self.identity.create_client_user(principal=principal, client_id=client_id, payload={
                "name": values["name"], "email": values["email"] or None, "mobile": values["mobile"] or None,
                "superuser": values["superuser"], "delivery": values["delivery"]})
        except AkkoordError as exc:
            return self._staff_client_error(visit, principal, client_id, "gebruiker", exc, values)
        query = {"nieuw": int(created["id"])}
        if created.get("letter_batch_id"):
            query["brief"] = int(created["letter_batch_id"])
        elif created.get("delivery") == "email":
            query["per"] = "email"
        return redirect(f"/kantoor/clienten/{client_id}?{urlencode(query)}")

    @page("GET,POST", "/kantoor/clienten/<int:client_id>/pin-brieven")
    def staff_client_tokens(self, request, visit, client_id):
        if request.method != "POST" or client_id > MAX_ID:
            return redirect(f"/kantoor/clienten/{client_id}")
        principal = self._staff_required(visit)
        chosen = request.form.getlist("user_ids")
        values = {"user_ids": chosen, "confirmation": visit.form("confirmation"), "login": visit.form("login")}
        try:
            if not chosen:
                raise FormError("Kies een of meer gebruikers.", {"field": "user_ids"})
            if not all(is_number(v) for v in chosen):
                raise FormError("Kies gebruikers uit de lijst.", {"field": "user_ids"})
            if values["confirmation"] not in CONFIRMATIONS:
                raise FormError("Kies hoe de gebruikers bevestigen: PIN-code of sms-code.", {"field": "confirmation"})
            if values["login"] not in LOGINS:
                raise FormError("Kies hoe de gebruikers inloggen.", {"field": "login"})
            user_ids = sorted({int(v) for v in chosen})
            # only users of this client: the form names this client, identity checks the firm and branch
            known = {int(u["id"]) for u in self.identity.client_users(principal=principal, client_id=client_id)}
            if set(user_ids) - known:
                raise FormError("Een gekozen gebruiker hoort niet bij deze cliënt.", {"field": "user_ids"})
            result = long_call(self.identity.issue_tokens, principal=principal, payload={
                "user_ids": user_ids, "confirmation": values["confirmation"], "login": values["login"]})
        except AkkoordError as exc:
            return self._staff_client_error(visit, principal, client_id, "pin", exc, values)
        query = {"methode": values["confirmation"], "aantal": len(result.get("users") or [])}
        if result.get("letter_batch_id"):
            query["brief"] = int(result["letter_batch_id"])
        return redirect(f"/kantoor/clienten/{client_id}?{urlencode(query)}")

    @page("GET,POST", "/kantoor/clienten/<int:client_id>/documenten", upload=True)
    def staff_client_document(self, request, visit, client_id):
        if request.method != "POST" or client_id > MAX_ID:
            return redirect(f"/kantoor/clienten/{client_id}")
        principal = self._staff_required(visit)
        values = {"document_type": "", "title": ""}
        try:
            # the API's own upload code: at most 20 MB, multipart only, the fields through its schema
            try:
                data, filename, content = upload_form(request, UploadForm())
            except ValidationError as exc:
                # the body passed the size check and is read: what was typed comes back with the refusal
                values = {"document_type": request.form.get("document_type", "")[:100],
                          "title": request.form.get("title", "")[:300]}
                raise FormError("De invoer is ongeldig.", {"fields": _dutch_upload_errors(exc.messages)}) from None
            values = {"document_type": data.get("document_type") or "", "title": data.get("title") or ""}
            if any("\x00" in str(v) for v in request.form.values()):
                raise FormError("De invoer bevat een ongeldig teken.")
            if not content:
                raise FormError("Kies een PDF-bestand.", {"field": "file"})
            payload = {"client_id": client_id, "document_type": data["document_type"], "title": data["title"].strip(),
                       "filename": filename, "content_base64": base64.b64encode(content).decode()}
            created = self.approval.upload_document(principal=principal, payload=payload, audit=visit.audit)
        except AkkoordError as exc:
            return self._staff_client_error(visit, principal, client_id, "document", exc, values)
        return redirect(f"/kantoor/clienten/{client_id}?{urlencode({'aangeboden': int(created['approval_id'])})}")

    def _staff_outcome(self, request) -> dict:
        """What a form just did, from the redirect's ids and fixed words (never data, never a secret)."""
        out = {}
        for name in ("nieuw", "brief", "aantal", "aangeboden"):
            value = int_arg(request, name)
            if value is not None:
                out[name] = value
        if request.args.get("per") == "email":
            out["per"] = "email"
        if request.args.get("methode") in CONFIRMATIONS:
            out["methode"] = request.args["methode"]
        return out

    def _staff_client_error(self, visit, principal, client_id, form, exc, values):
        status, message, extra, details = describe(exc)
        if status >= 500 or status == 404:
            raise exc
        return self._staff_client_view(visit, principal, client_id, errors=(form, (message, extra)), status=status,
                                       values=values, invalid=invalid_fields(details))

    def _staff_client_view(self, visit, principal, client_id, outcome=None, errors=None, status=200,
                           values=None, invalid=()):
        client = self.identity.get_client(principal=principal, client_id=client_id)
        users = self.identity.client_users(principal=principal, client_id=client_id)
        outcome, values, invalid = outcome or {}, values or {}, set(invalid)
        form_errors = {errors[0]: errors[1]} if errors else {}
        cid = int(client["id"])
        try:
            types = self.approval.document_types(principal=principal)
        except AkkoordError:
            types = []
        try:
            pending = self.approval.list_requests(principal=principal, query={
                "status": "pending", "client_id": cid, "page": 1, "per_page": PER_PAGE})
        except AkkoordError:
            pending = {"items": [], "total": 0}

        parts = [nav("/kantoor/clienten"), '<p><a href="/kantoor/clienten">← Terug naar de cliënten</a></p>',
                 f"<h1>{e(client.get('name') or client.get('number'))}</h1>"]
        parts.extend(self._staff_notices(principal, outcome, users))
        rows = "".join(f"<dt>{e(label)}</dt><dd>{e(client.get(key))}</dd>"
                       for key, label in CLIENT_LABELS if client.get(key) not in (None, ""))
        parts.append(f'<div class="vlak"><h2>Gegevens</h2><dl>{rows}</dl></div>')
        parts.append(self._staff_users_form(cid, users, form_errors.get("pin"), values if "pin" in form_errors
                                            else {}, invalid))
        parts.append('<div class="acties">'
                     + self._staff_new_user_form(cid, form_errors.get("gebruiker"),
                                                 values if "gebruiker" in form_errors else {}, invalid)
                     + self._staff_document_form(cid, types, form_errors.get("document"),
                                                 values if "document" in form_errors else {}, invalid)
                     + "</div>")
        parts.append(_pending_table(pending.get("items") or [], int(pending.get("total") or 0)))
        return visit.html(client.get("name") or "Cliënt", "".join(parts), status=status)

    def _staff_notices(self, principal, outcome, users) -> list:
        out = []
        batch = outcome.get("brief")
        batch_link = f'<a href="/kantoor/brieven/{batch}">brieven bekijken en afdrukken</a>' if batch else ""
        if "nieuw" in outcome:
            user = next((u for u in users if int(u["id"]) == outcome["nieuw"]), None)
            if user:
                text = f"Gebruiker {e(user.get('name'))} ({e(user.get('username'))}) is aangemaakt. "
                if batch:
                    text += f"De activeringscode staat in een brief: {batch_link}."
                elif outcome.get("per") == "email":
                    text += "De activeringscode is per e-mail verstuurd."
                out.append(f'<div class="melding" role="status"><p>{text}</p></div>')
        elif "methode" in outcome:
            count = outcome.get("aantal") or 0
            text = (f"Voor {count} gebruiker{'s' if count != 1 else ''} is de bevestigingsmethode ingesteld op "
                    f"{e(CONFIRMATIONS[outcome['methode']])}.")
            if batch:
                text += f" Elke gebruiker krijgt een nieuwe PIN-code per brief: {batch_link}."
            out.append(f'<div class="melding" role="status"><p>{text}</p></div>')
        if "aangeboden" in outcome:
            try:
                item = self.approval.get_request(principal=principal, request_id=outcome["aangeboden"])
            except AkkoordError:
                item = None
            if item:
                rid = int(item["id"])
                waiting = ", ".join(p.get("name") or "onbekend" for p in item.get("waiting_for") or [])
                out.append('<div class="melding" role="status"><p>Het document is ter accordering aangeboden: '
                           f'<a href="/accorderen/{rid}">{e(item.get("title"))}</a> '
                           f'({e(item.get("document_type_name") or item.get("document_type"))}, '
                           f'{e(item.get("status_label") or item.get("status"))}).'
                           + (f" Wacht op: {e(waiting)}." if waiting else "") + "</p></div>")
        return out

    def _staff_users_form(self, cid, users, errors, values, invalid) -> str:
        out = ['<div class="vlak"><h2>Gebruikers</h2>']
        if not users:
            out.append("<p>Deze cliënt heeft nog geen gebruikers.</p></div>")
            return "".join(out)
        chosen = set(values.get("user_ids") or [])
        rows = []
        for user in users:
            uid = int(user["id"])
            state = []
            if user.get("active") is False:
                state.append("uitgeschakeld")
            elif user.get("activated") is False:
                state.append("nog niet geactiveerd")
            elif user.get("activated"):
                state.append("actief")
            if user.get("pin_locked"):
                state.append("PIN geblokkeerd")
            rows.append(
                f'<tr><td><input type="checkbox" id="kies-{uid}" name="user_ids" value="{uid}"'
                + (" checked" if str(uid) in chosen else "") + "></td>"
                f'<td><label for="kies-{uid}">{e(user.get("name"))}</label>'
                + (' <span class="hint">(superuser)</span>' if user.get("superuser") else "") + "</td>"
                f'<td>{e(user.get("username"))}</td>'
                f'<td>{e(CONFIRMATIONS.get(user.get("confirmation"), user.get("confirmation")))}</td>'
                f'<td>{e(LOGINS.get(user.get("login"), user.get("login")))}</td>'
                f'<td>{e(user.get("mobile"))}</td><td>{e(", ".join(state))}</td></tr>')
        out.append(f'<form method="post" action="/kantoor/clienten/{cid}/pin-brieven">'
                   '<table><caption>Kies gebruikers voor een PIN-brief of een andere methode</caption><thead><tr>'
                   '<th scope="col">Kies</th><th scope="col">Naam</th><th scope="col">Gebruikersnaam</th>'
                   '<th scope="col">Bevestigen met</th><th scope="col">Inloggen met</th>'
                   '<th scope="col">Mobiel</th><th scope="col">Status</th></tr></thead>'
                   f'<tbody>{"".join(rows)}</tbody></table>'
                   '<h2 id="pin-brief">PIN-brief versturen</h2>' + error_box(errors)
                   + '<p class="hint">Met PIN-code krijgt elke gekozen gebruiker een nieuwe PIN-code per brief; een '
                     "eerdere PIN-code vervalt. Met sms-code komt er geen brief; de gebruiker heeft dan een "
                     "bekend mobiel nummer nodig.</p>"
                   + select("Bevestigen met", "confirmation", CONFIRMATIONS.items(),
                            values.get("confirmation") or "pin", invalid="confirmation" in invalid)
                   + select("Inloggen met", "login", LOGINS.items(), values.get("login") or "password",
                            invalid="login" in invalid)
                   + '<button type="submit">PIN-brief versturen</button></form></div>')
        return "".join(out)

    def _staff_new_user_form(self, cid, errors, values, invalid) -> str:
        delivery = values.get("delivery") or "letter"
        radios = "".join(
            f'<label for="bezorging-{key}"><input type="radio" id="bezorging-{key}" name="delivery" value="{key}"'
            + (" checked" if key == delivery else "") + f"> {e(text)}</label>"
            for key, text in (("letter", "Per brief"), ("email", "Per e-mail")))
        return (f'<form method="post" action="/kantoor/clienten/{cid}/gebruikers" class="vlak">'
                "<h2>Nieuwe gebruiker</h2>" + error_box(errors)
                + field("Naam", "name", value=values.get("name", ""), invalid="name" in invalid,
                        field_id="nieuw-naam", extra='maxlength="200"')
                + field("E-mail", "email", value=values.get("email", ""), invalid="email" in invalid,
                                 field_id="nieuw-email", extra='inputmode="email" maxlength="254"', required=False)
                + field("Mobiel", "mobile", value=values.get("mobile", ""), invalid="mobile" in invalid,
                                 field_id="nieuw-mobiel", hint="Nodig voor inloggen of bevestigen met een sms-code.",
                                 extra='inputmode="tel" maxlength="30"', required=False)
                + '<label for="nieuw-superuser"><input type="checkbox" id="nieuw-superuser" name="superuser" value="1"'
                + (" checked" if values.get("superuser") else "")
                + "> Superuser (alle rechten voor deze cliënt, maakt collega's aan)</label>"
                + '<fieldset><legend>Activeringscode</legend>' + radios + "</fieldset>"
                + '<button type="submit">Gebruiker aanmaken</button></form>')

    def _staff_document_form(self, cid, types, errors, values, invalid) -> str:
        options = [(t["code"], t.get("name") or t["code"]) for t in types] or [("annual_accounts", "Jaarrekening")]
        return (f'<form method="post" action="/kantoor/clienten/{cid}/documenten" enctype="multipart/form-data" '
                'class="vlak"><h2>Document ter accordering aanbieden</h2>' + error_box(errors)
                + hidden("client_id", cid)
                + select("Documenttype", "document_type", options, values.get("document_type") or "",
                         field_id="document-type", invalid="document_type" in invalid)
                + field("Titel", "title", value=values.get("title", ""), invalid="title" in invalid,
                        field_id="document-titel", extra='maxlength="300"')
                + '<label for="document-bestand">Bestand (PDF, hoogstens 20 MB)</label>'
                  '<input id="document-bestand" name="file" type="file" accept="application/pdf,.pdf" required'
                + (' aria-invalid="true"' if "file" in invalid else "") + ">"
                + '<button type="submit">Aanbieden</button></form>')

    # -- a letter batch ------------------------------------------------------------------------------------------
    @page("GET", "/kantoor/brieven/<int:batch_id>")
    def staff_letter_batch(self, request, visit, batch_id):
        principal = self._staff_required(visit)
        if batch_id > MAX_ID:
            raise NotFound("Deze brieven bestaan niet.")
        batch = self.letters.batch_status(principal=principal, batch_id=batch_id)
        bid = int(batch["id"])
        kind = BATCH_KINDS.get(batch.get("kind"), "Brieven")
        state = batch.get("status")
        done, total = int(batch.get("done") or 0), int(batch.get("total") or 0)
        words = {"held": "wacht op bevestiging", "queued": "in de wachtrij",
                 "rendering": f"wordt aangemaakt ({done} van {total})", "done": "klaar",
                 "failed": "mislukt", "discarded": "vervallen", "purged": "verwijderd na de bewaartermijn"}
        parts = [nav(""), f"<h1>{e(kind)}</h1>"]
        details = [("Status", words.get(state, state)), ("Aantal brieven", str(total))]
        if batch.get("created_at"):
            details.append(("Aangemaakt op", when(batch["created_at"])))
        if batch.get("finished_at") and state == "done":
            details.append(("Klaar op", when(batch["finished_at"])))
        if batch.get("printed_at"):
            details.append(("Afgedrukt (gedownload) op", when(batch["printed_at"])))
        if batch.get("purged_at"):
            details.append(("Verwijderd op", when(batch["purged_at"])))
        rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in details)
        body = f'<div class="vlak"><dl>{rows}</dl>'
        if state == "done":
            body += (f'<p><a href="/api/v1/letters/{bid}/pdf">Brieven downloaden (PDF)</a></p>'
                     '<p class="hint">De eerste download markeert de brieven als afgedrukt. De brieven bevatten '
                     "geheime codes: druk ze af, verstuur ze en bewaar het bestand niet.</p>")
        elif state in ("held", "queued", "rendering"):
            body += (f'<p><a href="/kantoor/brieven/{bid}">Status vernieuwen</a></p>'
                     '<p class="hint">De brieven worden op de achtergrond aangemaakt; vernieuw deze pagina over '
                     "een paar seconden.</p>")
        body += "</div>"
        if state in ("failed", "discarded"):
            parts.append(error_box((f"Deze brieven zijn niet aangemaakt: {batch.get('error') or 'onbekende fout'}",
                                    [])))
        elif state == "purged":
            parts.append(notice_box("Deze brieven zijn na de bewaartermijn verwijderd en kunnen niet meer worden "
                                    "gedownload.", "let-op"))
        parts.append(body)
        return visit.html(kind, "".join(parts))


def _pending_table(items, total) -> str:
    if not items:
        return '<div class="vlak"><h2>Openstaande verzoeken</h2><p>Er wachten geen documenten op akkoord.</p></div>'
    rows = "".join(
        f'<tr><td><a href="/accorderen/{int(item["id"])}">{e(item.get("title"))}</a></td>'
        f'<td>{e(item.get("document_type_name") or item.get("document_type"))}</td>'
        f'<td>{e(when(item.get("opened_at")))}</td>'
        f'<td>{e(", ".join(p.get("name") or "onbekend" for p in item.get("waiting_for") or []))}</td></tr>'
        for item in items)
    return (f"<table><caption>Openstaande verzoeken ({int(total)})</caption><thead><tr>"
            '<th scope="col">Titel</th><th scope="col">Documenttype</th><th scope="col">Aangeboden op</th>'
            f'<th scope="col">Wacht op</th></tr></thead><tbody>{rows}</tbody></table>')


def _dutch_upload_errors(messages) -> dict:
    """The upload schema's field errors, in the form's words."""
    words = {"document_type": "Kies een documenttype.", "title": "Vul een titel in (hoogstens 300 tekens).",
             "client_id": "De cliënt ontbreekt.", "file": "Kies een PDF-bestand."}
    return {name: [words.get(name, "Ongeldige waarde.")] for name in (messages if isinstance(messages, dict) else {})}
