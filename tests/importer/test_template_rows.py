"""The template filled in as firms do: their clients typed below the example row, which is left in place."""
import io

import openpyxl


def test_the_templates_example_row_is_not_imported_as_a_client(wizard):
    response = wizard.api.get("/api/v1/imports/template")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook["Cliënten"]
    assert sheet["A2"].value == "000123"  # the example row
    sheet["A3"], sheet["B3"] = "000501", "Eerste Echte BV"
    sheet["A4"], sheet["B4"] = "000502", "Tweede Echte BV"
    out = io.BytesIO()
    workbook.save(out)

    upload = wizard.upload("ingevuld.xlsx", out.getvalue())
    status = wizard.wait(upload["id"])
    assert status["summary"] == {"new": 2, "update": 0, "unchanged": 0, "invalid": 0}, status
    assert {r["number"] for r in wizard.rows(upload["id"])} == {"000501", "000502"}
    wizard.commit(upload["id"])
    assert wizard.wait(upload["id"], ("done", "failed"))["result"]["created"] == 2
    assert set(wizard.clients()) == {"000501", "000502"}


def test_the_templates_example_values_pass_our_own_checks():
    from importer.columns import COLUMNS
    from importer.validation import ClientRowSchema, validate_row
    example = {c.field: c.example for c in COLUMNS if c.example}
    clean, errors = validate_row(ClientRowSchema({}), example)
    assert errors == {}, errors  # a firm copying the example's format gets no refusal
    assert clean["rsin"] == example["rsin"]
