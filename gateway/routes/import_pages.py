"""The import wizard as staff web pages under /kantoor/import: earlier imports, the template, an upload form;
one import with its progress, its preview (summary, invalid rows with their reasons, rows that update a client
with the fields that change, new clients) and the form that commits every valid row, with a client group for
the new clients; then the committing progress and the result.

Built from the staff pages' blocks (gateway/routes/pages.py: ``@page``, ``Visit``, ``layout``, the boxes,
``pager``; gateway/routes/staff_pages.py: ``_staff_required``, which this mixin relies on, so a client user gets
the 403 page). Every answer comes from the RPCs the JSON API (gateway/routes/importer.py, identity.py) calls,
with the visitor's principal: importer and identity enforce scope and rights and their Dutch refusals are shown
with their status.

- The upload is the API's own code (``gateway.routes.importer.upload_file``): the same size limit before the
  body is read, multipart only, the file sent to the importer in chunks, the same refusals (413 too large, 415
  not what its extension says, 422 hostile or unreadable). Staff without ``admin`` are refused before it reads.
- Every POST passes the same-origin check (``@page``); redirects carry ids and fixed words only.
- Every value shown goes through ``e()``: file names, client names and cell values come from uploaded files.
- While the importer reads or commits, the page refreshes itself every 2 seconds with a
  ``<meta http-equiv="refresh">`` (not a script: the pages' Content-Security-Policy forbids scripts, and a meta
  refresh needs none).
"""
from urllib.parse import urlencode

from marshmallow import ValidationError

from chassis.errors import AkkoordError, NotFound
from gateway.routes.importer import upload_file  # the API's own upload code
from gateway.routes.pages import (PER_PAGE, FormError, describe, e, error_box, notice_box, page, pager,
                                  redirect, select, when)
from gateway.routes.staff_pages import CLIENT_LABELS, MAX_ID, int_arg, is_number, nav

STATUS_WORDS = {"uploading": "wordt ontvangen", "parsing": "wordt gelezen", "ready": "klaar om door te voeren",
                "committing": "wordt doorgevoerd", "done": "doorgevoerd", "failed": "mislukt"}
BUSY = ("parsing", "committing")
FIELD_LABELS = dict(CLIENT_LABELS, row="Rij")
NOTICES = {"ontvangen": "Het bestand is ontvangen. Het wordt nu gelezen en gecontroleerd; deze pagina ververst "
                        "zichzelf.",
           "doorvoeren": "De gekozen rijen worden doorgevoerd; deze pagina ververst zichzelf."}
# the row lists of one import: (status, query word for its page, caption)
ROW_LISTS = (("invalid", "ongeldig", "Ongeldige rijen (worden niet doorgevoerd)"),
             ("update", "bijwerken", "Rijen die een bestaande cliënt bijwerken"),
             ("new", "nieuw", "Nieuwe cliënten"),
             ("failed", "mislukt", "Rijen die niet zijn doorgevoerd"))


def _count(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _shown(value) -> str:
    return "(leeg)" if value in (None, "") else str(value)


def _message(value) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


class ImportPageRoutes:
    # -- the list, the template, the upload ------------------------------------------------------------------
    @page("GET,POST", "/kantoor/import", upload=True)
    def import_home(self, request, visit):
        principal = self._staff_required(visit)  # before the body is read: a client user uploads nothing
        if request.method != "POST":
            return self._import_home_view(visit, principal)
        if "admin" not in (principal.get("rights") or []):  # the importer's own rule, before 50 MB are read
            return self._import_home_view(visit, principal, status=403, errors=(
                "Importeren vraagt het recht 'Beheer'.", []))
        try:
            try:
                started = upload_file(self.importer, request, principal)
            except ValidationError:  # the branch field, through the API's form schema
                raise FormError("Kies een vestiging uit de lijst.", {"field": "branch_id"}) from None
        except AkkoordError as exc:
            status, message, extra, details = describe(exc)
            if status >= 500:
                raise
            return self._import_home_view(visit, principal, errors=(message, extra), status=status)
        return redirect(f"/kantoor/import/{int(started['id'])}?melding=ontvangen")

    def _import_home_view(self, visit, principal, errors=None, status=200):
        me = visit.me or {}
        rights = principal.get("rights") or []
        items = self.importer.list_imports(principal=principal) or []
        branches = {}
        if (me.get("firm") or {}).get("multi_branch") and principal.get("branch_id") is None:
            branches = self._branch_names(principal)
        parts = [nav("/kantoor/import"), "<h1>Cliënten importeren</h1>", error_box(errors)]
        upload = ['<div class="vlak"><h2>Bestand uploaden</h2>'
                  "<p>Upload de cliëntenlijst van uw kantoor als Excel-bestand (.xlsx) of CSV (.csv). U ziet eerst "
                  "een voorvertoning: welke cliënten nieuw zijn, welke worden bijgewerkt en welke rijen ongeldig "
                  "zijn. Pas als u op Doorvoeren drukt, verandert er iets.</p>"
                  '<p><a href="/api/v1/imports/template">Importsjabloon downloaden (.xlsx)</a></p>']
        if "admin" not in rights:
            upload.append(notice_box("Importeren en doorvoeren vraagt het recht 'Beheer'; een collega met dat "
                                     "recht kan het bestand uploaden.", "let-op"))
        else:
            upload.append('<form method="post" action="/kantoor/import" enctype="multipart/form-data">'
                          '<label for="import-bestand">Bestand (.xlsx of .csv)</label>'
                          '<input id="import-bestand" name="file" type="file" required '
                          'accept=".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,'
                          'text/csv">')
            if len(branches) > 1:
                upload.append(select(
                    "Vestiging", "branch_id", sorted(branches.items(), key=lambda kv: kv[0]),
                    empty="Geen: de vestiging uit het bestand", hint="De vestiging voor cliënten zonder vestiging in "
                                                                "het bestand (optioneel)."))
            upload.append('<button type="submit">Uploaden</button></form>')
        upload.append("</div>")
        parts.extend(upload)
        if not items:
            parts.append('<div class="vlak"><p>Er zijn nog geen imports.</p></div>')
        else:
            rows = []
            for item in items:
                iid = int(item["id"])
                summary = item.get("summary") or {}
                state = item.get("status")
                if state in ("ready", "committing", "done"):
                    counts = (f"{_count(summary.get('new'))} nieuw, {_count(summary.get('update'))} bijwerken, "
                              f"{_count(summary.get('unchanged'))} ongewijzigd, "
                              f"{_count(summary.get('invalid'))} ongeldig")
                else:
                    counts = ""
                result = item.get("result") or {}
                if state == "done":
                    counts += (f"; {_count(result.get('created'))} aangemaakt, "
                               f"{_count(result.get('updated'))} bijgewerkt")
                rows.append(f'<tr><td><a href="/kantoor/import/{iid}">{e(item.get("filename") or iid)}</a></td>'
                            f'<td>{e(when(item.get("created_at")))}</td>'
                            f'<td>{e(STATUS_WORDS.get(state, state))}</td><td>{e(counts)}</td></tr>')
            parts.append("<table><caption>Eerdere imports</caption><thead><tr>"
                         '<th scope="col">Bestand</th><th scope="col">Geüpload op</th><th scope="col">Status</th>'
                         '<th scope="col">Rijen</th></tr></thead>'
                         f'<tbody>{"".join(rows)}</tbody></table>')
        return visit.html("Import", "".join(parts), status=status)

    # -- one import --------------------------------------------------------------------------------------------
    @page("GET", "/kantoor/import/<int:import_id>")
    def import_page(self, request, visit, import_id):
        principal = self._staff_required(visit)
        if import_id > MAX_ID:
            raise NotFound("Deze import bestaat niet.")
        return self._import_view(request, visit, principal, import_id,
                                 notice=NOTICES.get(request.args.get("melding", "")))

    @page("GET,POST", "/kantoor/import/<int:import_id>/doorvoeren")
    def import_commit(self, request, visit, import_id):
        if request.method != "POST" or import_id > MAX_ID:
            return redirect(f"/kantoor/import/{import_id}")
        principal = self._staff_required(visit)
        chosen = visit.form("group_id").strip()
        try:
            if chosen and not is_number(chosen):
                raise FormError("Kies een cliëntgroep uit de lijst.", {"field": "group_id"})
            rows = "all"
            if visit.form("keuze") == "gekozen":
                ticked = request.form.getlist("rijen")
                if not ticked or not all(is_number(n) for n in ticked):
                    raise FormError("Vink ten minste één rij aan, of kies 'Alle geldige rijen'.", {"field": "rijen"})
                rows = sorted({int(n) for n in ticked})
            self.importer.commit_import(principal=principal, import_id=import_id, payload={
                "rows": rows, "group_id": int(chosen) if chosen else None})
        except AkkoordError as exc:
            status, message, extra, details = describe(exc)
            if status >= 500 or status == 404:
                raise
            return self._import_view(request, visit, principal, import_id, errors=(message, extra), status=status,
                                     chosen_group=chosen)
        return redirect(f"/kantoor/import/{import_id}?melding=doorvoeren")

    def _import_view(self, request, visit, principal, import_id, notice=None, errors=None, status=200,
                     chosen_group=""):
        item = self.importer.import_status(principal=principal, import_id=import_id)
        iid = int(item["id"])
        state = item.get("status")
        progress = item.get("progress") or {}
        summary = item.get("summary") or {}
        result = item.get("result") or {}
        rights = principal.get("rights") or []
        groups = self._import_groups(principal) if state in ("ready", "done") or item.get("group_id") else {}
        busy = state in BUSY
        parts = [nav("/kantoor/import"), '<p><a href="/kantoor/import">← Terug naar de imports</a></p>',
                 f"<h1>Import {e(item.get('filename') or iid)}</h1>", error_box(errors)]
        if busy:  # "received" or "committing" said after a form; once it is done the page says so itself
            parts.append(notice_box(notice))
        if progress.get("message") and busy:
            parts.append(notice_box(progress["message"], "let-op"))
        if state == "failed":
            error = item.get("error") or {}
            parts.append(error_box((f"Deze import is mislukt: {error.get('message') or 'onbekende fout'}", [])))

        state_text = STATUS_WORDS.get(state, state)
        if busy:
            state_text += f" ({_count(progress.get('done'))} van {_count(progress.get('total'))})"
        details = [("Status", state_text), ("Bestand", item.get("filename")),
                   ("Geüpload op", when(item.get("created_at")))]
        if item.get("committed_at"):
            details.append(("Doorgevoerd op", when(item["committed_at"])))
        if item.get("group_id"):
            details.append(("Cliëntgroep voor nieuwe cliënten",
                            groups.get(int(item["group_id"])) or f"groep {int(item['group_id'])}"))
        rows_html = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in details)
        body = f'<div class="vlak"><dl>{rows_html}</dl>'
        if busy:
            body += (f'<p><a href="/kantoor/import/{iid}">Status vernieuwen</a></p>'
                     '<p class="hint">Deze pagina ververst zichzelf elke 2 seconden.</p>')
        parts.append(body + "</div>")

        if state in ("ready", "committing", "done"):
            counts = (("Nieuw", summary.get("new")), ("Bijwerken", summary.get("update")),
                      ("Ongewijzigd", summary.get("unchanged")), ("Ongeldig", summary.get("invalid")))
            unknown = (item.get("columns") or {}).get("unknown") if isinstance(item.get("columns"), dict) else None
            parts.append('<div class="vlak"><h2>Samenvatting</h2><dl>'
                         + "".join(f"<dt>{e(k)}</dt><dd>{_count(v)}</dd>" for k, v in counts) + "</dl>"
                         + (f'<p class="hint">Niet gebruikte kolommen: {e(", ".join(str(u) for u in unknown))}.</p>'
                            if isinstance(unknown, list) and unknown else "") + "</div>")
        if state == "done":
            outcome = (("Aangemaakt", result.get("created")), ("Bijgewerkt", result.get("updated")),
                       ("Ongewijzigd", result.get("unchanged")), ("Mislukt", result.get("failed")))
            parts.append(notice_box("De import is doorgevoerd."))
            parts.append('<div class="vlak"><h2>Resultaat</h2><dl>'
                         + "".join(f"<dt>{e(k)}</dt><dd>{_count(v)}</dd>" for k, v in outcome) + "</dl>"
                         '<p><a href="/kantoor/clienten">Naar de cliënten</a></p></div>')
        if state == "ready":
            parts.append(self._import_commit_form(iid, summary, groups, rights, chosen_group, bool(errors)))
        if state in ("ready", "done"):
            for row_status, word, caption in ROW_LISTS:
                if row_status == "failed" and not _count(result.get("failed")):
                    continue
                if row_status != "failed" and not _count(summary.get(row_status)):
                    continue
                choosable = state == "ready" and "admin" in rights and row_status in ("new", "update")
                parts.append(self._import_rows(request, principal, iid, row_status, word, caption, choosable))
        return visit.html(f"Import {item.get('filename') or iid}", "".join(parts), status=status,
                          refresh=2 if busy else None)

    def _import_groups(self, principal) -> dict:
        try:
            return {int(g["id"]): g.get("name") or str(g["id"])
                    for g in self.identity.list_groups(principal=principal, kind="client")}
        except AkkoordError:
            return {}

    def _import_commit_form(self, iid, summary, groups, rights, chosen, invalid) -> str:
        new, update = _count(summary.get("new")), _count(summary.get("update"))
        out = ['<div class="vlak"><h2>Doorvoeren</h2>']
        if "admin" not in rights:
            out.append(notice_box("Doorvoeren vraagt het recht 'Beheer'.", "let-op") + "</div>")
            return "".join(out)
        out.append(f"<p>Geldig: {new} nieuwe cliënt{'en' if new != 1 else ''} en "
                   f"{update} bij te werken cliënt{'en' if update != 1 else ''}. Ongeldige en ongewijzigde rijen "
                   "blijven buiten beschouwing; lege cellen wissen geen gegevens.</p>"
                   f'<form method="post" action="/kantoor/import/{iid}/doorvoeren" id="doorvoeren">'
                   '<fieldset><legend>Welke rijen</legend>'
                   '<input type="radio" id="keuze-alle" name="keuze" value="alle" checked>'
                   '<label for="keuze-alle" class="keuze">Alle geldige rijen</label>'
                   '<input type="radio" id="keuze-gekozen" name="keuze" value="gekozen">'
                   '<label for="keuze-gekozen" class="keuze">Alleen de rijen die ik hieronder aanvink</label>'
                   '</fieldset>'
                   + select("Cliëntgroep voor de nieuwe cliënten", "group_id",
                            sorted(groups.items(), key=lambda kv: kv[1].lower()), chosen, empty="Geen groep",
                            invalid=invalid, hint="Alleen nieuwe cliënten komen in deze groep (optioneel).")
                   + '<button type="submit">Doorvoeren</button></form></div>')
        return "".join(out)

    def _branch_names(self, principal) -> dict:
        try:
            return {int(b["id"]): b.get("display_name") or b.get("name")
                    for b in self.identity.list_branches(principal=principal)}
        except AkkoordError:
            return {}

    def _import_rows(self, request, principal, iid, row_status, word, caption, choosable=False) -> str:
        """One list of rows, paged; ``choosable``: a box per row that belongs to the commit form (SPEC §3: the
        wizard's "choose rows"), for a commit of only the rows ticked."""
        number = min(int_arg(request, word) or 1, 100000)
        found = self.importer.import_rows(principal=principal, import_id=iid, query={
            "status": row_status, "page": number, "per_page": PER_PAGE})
        items = found.get("items") or []
        total = _count(found.get("total"))

        def link(n):
            query = {w: request.args[w] for _s, w, _c in ROW_LISTS if w != word and is_number(request.args.get(w, ""))}
            query[word] = n
            return f"/kantoor/import/{iid}?{urlencode(query)}#rijen-{word}"

        rows, names = [], {}
        for row in items:
            values = row.get("values") or {}
            if row_status in ("invalid", "failed"):
                errors = row.get("errors") or {}
                detail = "".join(f"<li>{e(FIELD_LABELS.get(k, k))}: {e(_message(v))}</li>"
                                 for k, v in (errors.items() if isinstance(errors, dict) else []))
                detail = f"<ul>{detail}</ul>" if detail else ""
            elif row_status == "update":
                previous = row.get("previous") or {}
                if "branch" in (row.get("changes") or []):
                    # the importer names branches by id (the row's new one under branch_id): show their names
                    names = names or self._branch_names(principal)
                    previous = dict(previous, branch=names.get(previous.get("branch"), previous.get("branch")))
                    values = dict(values, branch=names.get(values.get("branch_id"), values.get("branch_id")))
                detail = "".join(
                    f"<li>{e(FIELD_LABELS.get(k, k))}: {e(_shown(previous.get(k)))} → {e(_shown(values.get(k)))}</li>"
                    for k in row.get("changes") or [])
                detail = f"<ul>{detail}</ul>" if detail else ""
            else:
                detail = e(", ".join(str(values[k]) for k in ("city", "email") if values.get(k)))
            number_cell = f"<td>{_count(row.get('row'))}</td>"
            if choosable:
                n = _count(row.get("row"))
                number_cell = (f'<td><input type="checkbox" id="rij-{n}" name="rijen" value="{n}" form="doorvoeren">'
                               f'<label for="rij-{n}" class="rij">{n}</label></td>')
            rows.append(f'<tr>{number_cell}<td>{e(row.get("number") or values.get("number"))}</td>'
                        f'<td>{e(values.get("name"))}</td><td>{detail}</td></tr>')
        third = {"invalid": "Reden", "failed": "Reden", "update": "Wijzigingen"}.get(row_status, "Plaats, e-mail")
        return (f'<table id="rijen-{word}"><caption>{e(caption)} ({total})</caption><thead><tr>'
                '<th scope="col">Rij</th><th scope="col">Cliëntnummer</th><th scope="col">Naam</th>'
                f'<th scope="col">{e(third)}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
                + pager(number, total, link))
