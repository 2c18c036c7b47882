"""The import wizard end to end: HTTP → gateway → importer (jobs) → identity → PostgreSQL."""
from tests.importer.conftest import Wizard
from tests.importer.files import HEADERS, csv_bytes, xlsx_bytes

ROWS = [
    ["000101", "Bakkerij De Vries", "1234567", "1234ab", "Utrecht", "info@devries.nl", "06 12345678"],
    ["000102", "Garage Jansen", "87654321", "", "Zeist", "", ""],
    ["", "", "", "", "", "", ""],                                                  # empty: skipped
    ["000101", "Bakkerij De Vries (contact 2)", "", "", "", "piet@devries.nl", ""],  # repeated number
    ["000103", "Fout BV", "123456789", "12 AB", "", "geen-mail", "0301234567"],   # invalid fields
]


def test_csv_upload_preview_commit_and_rerun_changes_nothing(wizard):
    group_id = wizard.group()
    upload = wizard.upload("klanten.csv", csv_bytes(ROWS, delimiter=";", encoding="cp1252"))
    assert upload["status"] == "parsing"
    status = wizard.wait(upload["id"])
    assert status["status"] == "ready", status
    assert status["summary"] == {"new": 2, "update": 0, "unchanged": 0, "invalid": 2}
    assert status["progress"]["done"] == status["progress"]["total"]

    invalid = {r["row"]: r for r in wizard.rows(upload["id"], "invalid")}
    assert set(invalid) == {5, 6}  # header is row 1, the empty row 4 is skipped
    assert "Dubbel cliëntnummer" in invalid[5]["errors"]["number"]
    assert invalid[6]["errors"] == {"kvk": "Een KvK-nummer bestaat uit 8 cijfers.",
                                    "postcode": "Een Nederlandse postcode ziet eruit als 1234 AB.",
                                    "email": "Ongeldig e-mailadres.", "mobile": "Dit is geen mobiel nummer."}
    new = {r["number"]: r for r in wizard.rows(upload["id"], "new")}
    assert new["000101"]["values"]["kvk"] == "01234567"
    assert new["000101"]["values"]["postcode"] == "1234 AB"
    assert new["000101"]["values"]["mobile"] == "+31612345678"

    committing = wizard.commit(upload["id"], group_id=group_id)
    assert committing["status"] == "committing"
    done = wizard.wait(upload["id"], ("done", "failed"))
    assert done["status"] == "done", done
    assert done["result"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    # the import is recorded: who, when, which file, counts
    assert len(done["sha256"]) == 64 and done["committed_at"] and done["created_at"]
    assert done["user_id"] == done["committed_by"] == wizard.firm["admin_user_id"]

    clients = wizard.clients()
    assert set(clients) == {"000101", "000102"}
    assert clients["000101"]["kvk"] == "01234567" and clients["000101"]["email"] == "info@devries.nl"
    assert clients["000101"]["group_id"] == group_id

    # the same file again: everything unchanged, committing changes nothing
    again = wizard.upload("klanten.csv", csv_bytes(ROWS, delimiter=";", encoding="cp1252"))
    status = wizard.wait(again["id"])
    assert status["summary"] == {"new": 0, "update": 0, "unchanged": 2, "invalid": 2}
    wizard.commit(again["id"], group_id=group_id)
    done = wizard.wait(again["id"], ("done", "failed"))
    assert done["result"] == {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    assert wizard.clients() == clients


def test_xlsx_update_changes_only_filled_cells_and_new_ones_go_in_the_group(wizard):
    group_id = wizard.group()
    first = wizard.upload("eerste.xlsx", xlsx_bytes([ROWS[0], ROWS[1]]))
    wizard.wait(first["id"])
    wizard.commit(first["id"], group_id=None)
    assert wizard.wait(first["id"], ("done", "failed"))["result"]["created"] == 2
    before = wizard.clients()

    # other headers (aliases), an empty e-mail cell, a changed city, one new client; unknown column ignored
    headers = ["Relatienummer", "Bedrijfsnaam", "Woonplaats", "E-mailadres", "Kleur"]
    second = wizard.upload("tweede.xlsx", xlsx_bytes([["000101", "Bakkerij De Vries", "Amersfoort", None, "rood"],
                                                      ["000104", "Nieuw BV", "Baarn", "nieuw@bv.nl", "blauw"]],
                                                     headers=headers))
    status = wizard.wait(second["id"])
    assert status["summary"] == {"new": 1, "update": 1, "unchanged": 0, "invalid": 0}
    assert status["columns"]["unknown"] == ["Kleur"]
    update = wizard.rows(second["id"], "update")[0]
    assert update["changes"] == ["city"]
    assert update["previous"] == {"city": "Utrecht"} and update["values"]["city"] == "Amersfoort"

    wizard.commit(second["id"], group_id=group_id)
    done = wizard.wait(second["id"], ("done", "failed"))
    assert done["result"] == {"created": 1, "updated": 1, "unchanged": 0, "failed": 0}
    after = wizard.clients()
    assert after["000101"]["city"] == "Amersfoort"
    assert after["000101"]["email"] == before["000101"]["email"] == "info@devries.nl"  # empty cell kept it
    assert after["000101"]["group_id"] is None          # existing client not moved into the group
    assert after["000104"]["group_id"] == group_id      # only the new one


def test_only_chosen_rows_are_committed(wizard):
    upload = wizard.upload("keuze.csv", csv_bytes([ROWS[0], ROWS[1]], delimiter=","))
    wizard.wait(upload["id"])
    wizard.commit(upload["id"], rows=[3])
    done = wizard.wait(upload["id"], ("done", "failed"))
    assert done["result"]["created"] == 1
    assert set(wizard.clients()) == {"000102"}


def test_file_without_required_columns_is_refused_at_once(wizard):
    refused = wizard.upload("geen.csv", csv_bytes([["A", "Utrecht"]], headers=["Naam", "Plaats"]), expect=422)
    assert refused["error"] == "missing_columns" and "Cliëntnummer" in refused["message"]
    refused = wizard.upload("geen.xlsx", xlsx_bytes([["1", "Utrecht"]], headers=["Relatienummer", "Plaats"]),
                            expect=422)
    assert refused["error"] == "missing_columns" and "'Naam'" in refused["message"]


def test_hostile_uploads_are_refused_with_4xx(wizard):
    nul = wizard.upload("nul.csv", b"Clientnummer;Naam\r\n1;A\x00\r\n", expect=422)
    assert nul["error"] == "hostile_file"
    fake = wizard.upload("klanten.xlsx", csv_bytes(ROWS), expect=415)
    assert fake["error"] == "unsupported_file"
    exe = wizard.upload("klanten.csv", b"MZ\x90\x00" + b"\x01" * 100, expect=415)
    assert exe["error"] == "unsupported_file"
    from tests.importer.files import zip_bytes
    bomb = zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>",
                      "xl/worksheets/sheet1.xml": b"0" * (30 * 1024 * 1024)})
    refused = wizard.upload("bom.xlsx", bomb, expect=422)
    assert refused["error"] == "hostile_file" and "zip-bom" in refused["message"]
    other = wizard.upload("klanten.pdf", b"%PDF-1.4", expect=415)
    assert other["error"] == "unsupported_file"
    named = wizard.upload("klant\x00en.csv", csv_bytes(ROWS), expect=422)  # a control character in the name
    assert "bestandsnaam" in str(named["details"]), named


def test_oversized_upload_is_refused_before_it_is_read(wizard, monkeypatch):
    import gateway.routes.importer as routes
    monkeypatch.setattr(routes, "MAX_IMPORT_BYTES", 1024)
    big = csv_bytes([[str(i), f"Client {i}", "", "", "", "", ""] for i in range(3000)])
    response = wizard.api.post("/api/v1/imports", files={"file": ("groot.csv", big)})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_template_and_export_through_the_gateway(wizard):
    import io

    import openpyxl
    response = wizard.api.get("/api/v1/imports/template")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Cliënten"]
    assert [c.value for c in sheet[1]][:2] == ["Cliëntnummer", "Naam"]

    upload = wizard.upload("k.csv", csv_bytes([["000201", "=cmd|' /C calc'!A0", "", "", "Utrecht", "", ""]],
                                              delimiter=","))
    wizard.wait(upload["id"])
    wizard.commit(upload["id"])
    wizard.wait(upload["id"], ("done",))
    xlsx = wizard.api.get("/api/v1/clients/export", params={"format": "xlsx"})
    assert xlsx.status_code == 200, xlsx.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(row=2, column=1).value == "000201"
    assert sheet.cell(row=2, column=2).value == "'=cmd|' /C calc'!A0"
    csv_response = wizard.api.get("/api/v1/clients/export", params={"format": "csv"})
    assert csv_response.status_code == 200
    lines = csv_response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Cliëntnummer;Naam;") and lines[1].startswith("000201;'=cmd")
    # the export goes back in unchanged
    again = wizard.upload("export.xlsx", xlsx.content)
    assert wizard.wait(again["id"])["summary"] == {"new": 0, "update": 0, "unchanged": 1, "invalid": 0}


def _branch_staff(wizard, branch_id):
    groups = wizard.api.get("/api/v1/groups", params={"kind": "staff"}).json()["items"]
    admins = next(g for g in groups if g["kind"] == "staff" and "admin" in g["rights"])
    created = wizard.api.post("/api/v1/staff", json={"username": f"vest-{branch_id}-{wizard.firm['firm_id']}",
                                                     "name": "Vera Vestiging", "email": "vera@example.nl",
                                                     "branch_id": branch_id, "group_id": admins["id"]})
    assert created.status_code == 201, created.text
    body = created.json()
    password = "een lang wachtwoord voor vera"
    activated = wizard.portal.api().post("/api/v1/activate", json={
        "username": body["username"], "activation_code": body["activation_code"], "password": password})
    assert activated.status_code == 200, activated.text
    return wizard.portal.login(body["username"], password)


def test_branches_by_name_and_branch_staff_scope(wizard):
    amsterdam, utrecht = wizard.firm["branch_ids"]
    headers = ["Cliëntnummer", "Naam", "Vestiging"]
    upload = wizard.upload("vestigingen.csv", csv_bytes(
        [["000401", "In Utrecht", "utrecht"], ["000402", "Onbekend", "Rotterdam"], ["000403", "Zonder", ""]],
        headers=headers), branch_id=str(amsterdam))
    status = wizard.wait(upload["id"])
    assert status["summary"] == {"new": 2, "update": 0, "unchanged": 0, "invalid": 1}
    invalid = wizard.rows(upload["id"], "invalid")[0]
    assert invalid["errors"] == {"branch": "Onbekende vestiging 'Rotterdam'."}
    wizard.commit(upload["id"])
    assert wizard.wait(upload["id"], ("done",))["result"]["created"] == 2
    clients = wizard.clients()
    assert clients["000401"]["branch_id"] == utrecht
    assert clients["000403"]["branch_id"] == amsterdam  # the branch chosen at upload

    vera = _branch_staff(wizard, amsterdam)
    # the firm admin's import is not visible to branch staff: 404, not 403
    assert vera.get(f"/api/v1/imports/{upload['id']}").status_code == 404
    response = vera.post("/api/v1/imports", files={"file": ("v.csv", csv_bytes(
        [["000501", "Eigen", ""], ["000502", "Andere", "Utrecht"], ["000401", "In Utrecht", ""]],
        headers=headers))})
    assert response.status_code == 202, response.text
    mine = response.json()["id"]
    wizard_as_vera = type(wizard).__new__(type(wizard))
    wizard_as_vera.api, wizard_as_vera.portal = vera, wizard.portal
    status = wizard_as_vera.wait(mine)
    # 000401 lives in Utrecht: the preview says its number is another branch's client (and nothing more)
    assert status["summary"] == {"new": 1, "update": 0, "unchanged": 0, "invalid": 2}
    # other branches do not exist for branch staff
    invalid = {row["number"]: row["errors"] for row in wizard_as_vera.rows(mine, "invalid")}
    assert invalid == {"000502": {"branch": "Onbekende vestiging 'Utrecht'."},
                       "000401": {"number": "Dit cliëntnummer hoort bij een cliënt van een andere vestiging."}}
    wizard_as_vera.commit(mine)
    done = wizard_as_vera.wait(mine, ("done", "failed"))
    assert done["result"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}
    assert wizard.clients()["000401"]["name"] == "In Utrecht" and wizard.clients()["000501"]["branch_id"] == amsterdam
    # another firm's staff cannot see it either
    other = Wizard(wizard.portal)
    assert other.api.get(f"/api/v1/imports/{mine}").status_code == 404
    assert other.api.get(f"/api/v1/imports/{mine}/rows").status_code == 404


def test_hub_stays_responsive_while_a_big_file_is_parsed(wizard):
    from bench.importer import row
    big = csv_bytes([row(i) for i in range(1, 20001)], headers=__import__("bench.importer").importer.HEADERS)
    upload = wizard.upload("groot.csv", big)
    seen_midway = []
    while True:
        assert wizard.portal.rpc.importer.ping()["service"] == "importer"
        body = wizard.api.get(f"/api/v1/imports/{upload['id']}").json()
        if body["status"] != "parsing":
            break
        if 0 < body["progress"]["done"] < body["progress"]["total"]:
            seen_midway.append(body["progress"]["done"])
    assert body["status"] == "ready", body
    assert body["summary"]["new"] == 20000 and body["summary"]["invalid"] == 0
    # requests were answered while the parse was under way, at different points of it
    assert len(set(seen_midway)) >= 2, seen_midway


def test_an_abandoned_upload_is_failed_and_its_chunks_dropped(wizard, db_engine):
    import base64

    import sqlalchemy as sa

    from importer import jobs
    principal = wizard.portal.rpc.identity.authenticate(token=wizard.api.headers["Authorization"].split()[1])
    started = wizard.portal.rpc.importer.start_upload(principal=principal, payload={"filename": "half.csv"})
    wizard.portal.rpc.importer.upload_chunk(principal=principal, payload={
        "import_id": started["id"], "seq": 0, "data": base64.b64encode(b"Clientnummer;Naam\r\n1;A").decode()})
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE importer.imports SET created_at = created_at - interval '2 hours' "
                             "WHERE id = :id"), {"id": started["id"]})
    jobs.abandon_uploads(db_engine)
    status = wizard.api.get(f"/api/v1/imports/{started['id']}").json()
    assert status["status"] == "failed" and "opnieuw" in status["error"]["message"]
    with db_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM importer.import_chunks WHERE import_id = :id"),
                           {"id": started["id"]}) == 0


def test_bsn_is_encrypted_at_rest_masked_in_the_preview_and_stored_in_identity(wizard, db_engine):
    import sqlalchemy as sa
    headers = ["Cliëntnummer", "Naam", "BSN"]
    upload = wizard.upload("personen.csv", csv_bytes([["000601", "J. Persoon", "010000008"]], headers=headers))
    wizard.wait(upload["id"])
    row = wizard.rows(upload["id"], "new")[0]
    assert row["values"]["bsn"] == "******008"
    with db_engine.connect() as conn:
        stored = conn.scalar(sa.text("SELECT data::text FROM importer.import_rows WHERE import_id = :id"),
                             {"id": upload["id"]})
        chunks = conn.scalar(sa.text("SELECT count(*) FROM importer.import_chunks WHERE import_id = :id"),
                             {"id": upload["id"]})
    assert "010000008" not in stored and "J. Persoon" in stored
    assert chunks == 0  # the uploaded file is gone once parsed
    wizard.commit(upload["id"])
    assert wizard.wait(upload["id"], ("done",))["result"]["created"] == 1
    client_id = wizard.clients()["000601"]["id"]
    assert wizard.api.get(f"/api/v1/clients/{client_id}", params={"show": "bsn"}).json()["bsn"] == "010000008"


def test_repeated_numbers_are_caught_across_parse_batches(wizard, monkeypatch):
    from importer import jobs
    monkeypatch.setattr(jobs, "PARSE_BATCH", 2)
    rows = [["000701", "Eerste", "", "", "", "", ""], ["000702", "Tweede", "", "", "", "", ""],
            ["000703", "Derde", "", "", "", "", ""], ["000701", "Contactpersoon 2", "", "", "", "", ""],
            ["000701", "Contactpersoon 3", "", "", "", "", ""], ["000702", "Nog eens", "", "", "", "", ""]]
    upload = wizard.upload("crm.csv", csv_bytes(rows))
    status = wizard.wait(upload["id"])
    assert status["summary"] == {"new": 3, "update": 0, "unchanged": 0, "invalid": 3}
    invalid = {r["row"]: r["errors"]["number"] for r in wizard.rows(upload["id"], "invalid")}
    assert invalid == {5: "Dubbel cliëntnummer: rij 2 telt.", 6: "Dubbel cliëntnummer: rij 2 telt.",
                       7: "Dubbel cliëntnummer: rij 3 telt."}
    assert {r["number"]: r["values"]["name"] for r in wizard.rows(upload["id"], "new")}["000701"] == "Eerste"


def test_xlsx_with_empty_rows_above_the_header(wizard):
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"].font = Font(bold=True)
    sheet["A3"], sheet["B3"] = "Debiteurnummer", "Relatienaam"
    sheet["A4"], sheet["B4"] = "000901", "Onder de kop"
    out = io.BytesIO()
    workbook.save(out)
    upload = wizard.upload("titel.xlsx", out.getvalue())
    status = wizard.wait(upload["id"])
    assert status["summary"]["new"] == 1, status
    assert wizard.rows(upload["id"], "new")[0]["row"] == 4


def _batches(db_engine, import_id):
    import sqlalchemy as sa
    with db_engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT row_number, batch FROM importer.import_rows WHERE import_id = :id"),
                                 {"id": import_id}).all())


def test_the_preview_numbers_commit_batches_and_commit_all_keeps_them(wizard, db_engine, monkeypatch):
    from importer import imports
    monkeypatch.setattr(imports, "COMMIT_BATCH", 2)
    rows = [[f"{800 + i:06d}", f"Cliënt {i}", "", "", "", "", ""] for i in range(5)] + [["", "Zonder nummer"]]
    upload = wizard.upload("batches.csv", csv_bytes(rows))
    wizard.wait(upload["id"])
    # rows 2..6 are new: batches 0, 0, 1, 1, 2; the invalid row 7 is in none
    assert _batches(db_engine, upload["id"]) == {2: 0, 3: 0, 4: 1, 5: 1, 6: 2, 7: None}
    committing = wizard.commit(upload["id"])
    assert committing["progress"] == {"done": 0, "total": 5}
    assert wizard.wait(upload["id"], ("done", "failed"))["result"]["created"] == 5
    assert _batches(db_engine, upload["id"]) == {2: 0, 3: 0, 4: 1, 5: 1, 6: 2, 7: None}


def test_a_choice_of_rows_is_numbered_again_and_an_unnumbered_preview_still_commits(wizard, db_engine,
                                                                                    monkeypatch):
    import sqlalchemy as sa

    from importer import imports
    monkeypatch.setattr(imports, "COMMIT_BATCH", 2)
    rows = [[f"{850 + i:06d}", f"Cliënt {i}", "", "", "", "", ""] for i in range(5)]
    chosen = wizard.upload("keuze.csv", csv_bytes(rows))
    wizard.wait(chosen["id"])
    wizard.commit(chosen["id"], rows=[3, 5, 6])
    assert wizard.wait(chosen["id"], ("done", "failed"))["result"]["created"] == 3
    assert _batches(db_engine, chosen["id"]) == {2: None, 3: 0, 4: None, 5: 0, 6: 1}

    # a preview stored before previews numbered their rows (an import waiting across an upgrade)
    rows = [[f"{870 + i:06d}", f"Cliënt {i}", "", "", "", "", ""] for i in range(3)]
    older = wizard.upload("ouder.csv", csv_bytes(rows))
    wizard.wait(older["id"])
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE importer.import_rows SET batch = NULL WHERE import_id = :id"),
                     {"id": older["id"]})
    wizard.commit(older["id"])
    assert wizard.wait(older["id"], ("done", "failed"))["result"]["created"] == 3
    assert {f"{870 + i:06d}" for i in range(3)} <= set(wizard.clients())


def test_empty_name_updates_a_known_client_and_a_masked_bsn_keeps_the_stored_one(wizard):
    headers = ["Cliëntnummer", "Naam", "BSN", "Plaats"]
    first = wizard.upload("eerst.csv", csv_bytes([["000701", "Bekend BV", "010000008", "Utrecht"]], headers=headers))
    wizard.wait(first["id"])
    wizard.commit(first["id"])
    assert wizard.wait(first["id"], ("done", "failed"))["status"] == "done"

    # the client's own export, edited: a new city, the BSN as exported (masked), and no name;
    # plus a new client without a name, which cannot be created
    rows = [["000701", "", "******008", "Zeist"], ["000702", "", "", "Ede"]]
    again = wizard.upload("bewerkt.csv", csv_bytes(rows, headers=headers))
    status = wizard.wait(again["id"])
    assert status["summary"] == {"new": 0, "update": 1, "unchanged": 0, "invalid": 1}, status
    update = wizard.rows(again["id"], "update")[0]
    assert update["number"] == "000701" and update["changes"] == ["city"], update
    invalid = wizard.rows(again["id"], "invalid")[0]
    assert invalid["number"] == "000702" and invalid["errors"] == {"name": "Verplicht veld."}
    wizard.commit(again["id"])
    assert wizard.wait(again["id"], ("done", "failed"))["result"]["updated"] == 1
    client = wizard.clients()["000701"]
    assert (client["name"], client["city"]) == ("Bekend BV", "Zeist")  # the empty name erased nothing
    assert client["bsn"] == "******008"  # shown masked; the stored BSN was kept (checked below)
    full = wizard.api.get(f"/api/v1/clients/{client['id']}", params={"show": "bsn"}).json()
    assert full["bsn"] == "010000008"


def test_a_quote_left_open_is_reported_not_swallowed(wizard):
    # the quote before "Café" is never closed: a CSV reader merges the lines after it into one field
    text = ("Cliëntnummer;Naam;Plaats\r\n1;Bakker;Utrecht\r\n2;\"Café De Kroon;Utrecht\r\n3;Smit;Ede\r\n"
            "4;Jansen;Zeist\r\n5;\"Visser\";Delft\r\n6;Bos;Baarn\r\n7;\"Dorpsstraat 1\r\n1234 AB\";Ede\r\n")
    upload = wizard.upload("open-quote.csv", text.encode("utf-8"))
    status = wizard.wait(upload["id"])
    assert status["summary"] == {"new": 3, "update": 0, "unchanged": 0, "invalid": 1}, status
    invalid = wizard.rows(upload["id"], "invalid")
    assert [r["row"] for r in invalid] == [3]
    assert list(invalid[0]["errors"]) == ["row"]  # the one reason, not a list of fields it garbled
    assert "regels 3–6 van het bestand zijn samengevoegd" in invalid[0]["errors"]["row"]
    new = {r["number"]: r for r in wizard.rows(upload["id"], "new")}
    assert set(new) == {"1", "6", "7"}  # a quoted field over two lines without separators is fine
    assert new["7"]["values"]["name"] == "Dorpsstraat 1 1234 AB"
