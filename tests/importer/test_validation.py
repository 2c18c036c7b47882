"""Per-field validation with Dutch reasons, the preview comparison, template and export layout."""
import csv
import io

import openpyxl

from importer import export, preview, template
from importer.columns import COLUMNS
from importer.validation import ClientRowSchema, validate_row

BRANCHES = {"Amsterdam": 1, "Utrecht": 2}


def check(raw):
    return validate_row(ClientRowSchema(BRANCHES), raw)


def test_valid_row_is_normalised():
    clean, errors = check({"number": "007", "name": "  Bakkerij   De Vries ", "kvk": "1234567", "bsn": "10000008",
                           "postcode": "1234ab", "mobile": "06-12345678", "country": "Nederland",
                           "email": "Info@DeVries.NL", "branch": "utrecht", "vat": "nl004495445b01",
                           "phone": "030 123 4567"})
    assert errors == {}
    assert clean == {"number": "007", "name": "Bakkerij De Vries", "kvk": "01234567", "bsn": "010000008",
                     "postcode": "1234 AB", "mobile": "+31612345678", "country": "NL", "email": "info@devries.nl",
                     "branch_id": 2, "vat": "NL004495445B01", "phone": "+31301234567"}


def test_each_bad_field_gets_a_dutch_reason():
    clean, errors = check({"number": "8", "kvk": "123456789", "bsn": "111222334", "postcode": "123 AB",
                           "mobile": "030 1234567", "email": "geen-adres", "country": "Atlantis",
                           "branch": "Rotterdam", "rsin": "12"})
    assert errors == {  # no name: required of a new client only, which the preview decides (test_wizard)
        "kvk": "Een KvK-nummer bestaat uit 8 cijfers.",
        "bsn": "Dit BSN is ongeldig (de elfproef klopt niet).",
        "postcode": "Een Nederlandse postcode ziet eruit als 1234 AB.",
        "mobile": "Dit is geen mobiel nummer.",
        "email": "Ongeldig e-mailadres.",
        "country": "Onbekend land; gebruik een landcode zoals NL of BE.",
        "branch": "Onbekende vestiging 'Rotterdam'.",
        "rsin": "Een RSIN bestaat uit 9 cijfers.",
    }
    assert clean == {"number": "8"}


def test_foreign_postcode_and_mobile_follow_the_country():
    clean, errors = check({"number": "1", "name": "Brussel BV", "country": "BE", "postcode": "1000",
                           "mobile": "0470 12 34 56"})
    assert errors == {}
    assert clean["postcode"] == "1000" and clean["mobile"] == "+32470123456"


def test_preview_compares_normalised_values_and_ignores_empty_cells():
    schema = ClientRowSchema(BRANCHES)
    stored = {"id": 5, "number": "1", "name": "A", "country": "Nederland", "mobile": "0612345678",
              "email": "a@b.nl", "city": "Zeist", "branch_id": 1}
    clean, _ = validate_row(schema, {"number": "1", "name": "A", "country": "NL", "mobile": "+31612345678"})
    assert preview.classify(schema, clean, stored) == ("unchanged", None)
    clean, _ = validate_row(schema, {"number": "1", "name": "B", "email": "c@d.nl", "branch": "Utrecht"})
    assert preview.classify(schema, clean, stored) == ("update", ["name", "email", "branch"])
    assert preview.classify(schema, clean, None) == ("new", None)


def test_template_has_headers_example_widths_text_format_and_validation():
    workbook = openpyxl.load_workbook(io.BytesIO(template.build(["Amsterdam", "Utrecht"])))
    sheet = workbook["Cliënten"]
    assert [c.value for c in sheet[1]] == [c.header for c in COLUMNS]
    assert sheet["A2"].value == "000123" and sheet["D2"].value == "01234567"
    assert sheet["A2"].number_format == "@" and sheet.column_dimensions["D"].number_format == "@"
    assert sheet.column_dimensions["B"].width == 32
    kinds = {dv.type for dv in sheet.data_validations.dataValidation}
    assert {"textLength", "list", "custom"} <= kinds
    branch_lists = [dv.formula1 for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert '"Amsterdam,Utrecht"' in branch_lists
    assert "Uitleg" in workbook.sheetnames


def test_export_neutralises_formula_cells():
    clients = [{"number": "1", "name": "=HYPERLINK(\"http://x\")", "city": "@SUM(1)", "contact": "-2+3",
                "street": "\tTab", "house_number": "\r1", "mobile": "+31612345678", "branch_id": 1}]
    sheet = openpyxl.load_workbook(io.BytesIO(export.write_xlsx(clients, {1: "Amsterdam"}))).active
    row = {c.header: sheet.cell(row=2, column=i + 1).value for i, c in enumerate(COLUMNS)}
    assert row["Naam"] == "'=HYPERLINK(\"http://x\")" and row["Plaats"] == "'@SUM(1)"
    assert row["Contactpersoon"] == "'-2+3" and row["Straat"] == "'\tTab" and row["Mobiel"] == "'+31612345678"
    assert row["Vestiging"] == "Amsterdam"
    assert all(sheet.cell(row=2, column=i + 1).data_type == "s" for i in range(len(COLUMNS))
               if sheet.cell(row=2, column=i + 1).value is not None)
    text = export.write_csv(clients, {1: "Amsterdam"}).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == [c.header for c in COLUMNS]
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")"
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in rows[1])


def test_a_masked_bsn_from_our_export_is_no_value():
    for masked in ("******008", " ******008 ", "*********"):
        clean, errors = check({"number": "9", "name": "Export", "bsn": masked})
        assert errors == {} and "bsn" not in clean
    clean, errors = check({"number": "9", "name": "Export", "bsn": "*12*"})
    assert errors == {"bsn": "Een BSN bestaat uit 9 cijfers."}
