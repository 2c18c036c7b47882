"""Header matching, CSV dialects and encodings, .xlsx reading, hostile files: unit level."""
import io
import zipfile

import pytest

from importer import readers
from importer.columns import fold, match_headers
from importer.exceptions import HostileFile, MissingColumns, UnsupportedFile
from tests.importer.files import csv_bytes, xlsx_bytes, zip_bytes

ROWS = [["000123", "Bakkerij De Vrïes; & Zn", "1234567", "1234ab", "Utrecht", "info@devries.nl", "06 12345678"],
        ["000124", 'Firma "Quote", met\nnieuwe regel', "", "", "Zeist", "", ""]]


def test_headers_fold_case_accents_spaces_dots_dashes_underscores():
    assert fold(" Cliënt-Nummer ") == fold("clientnummer") == fold("CLIENT_NUMMER") == fold("client.nummer")
    mapping = match_headers(["KVK_NUMMER", "Relatie nummer", "bedrijfs-naam", "Kleur", "e.mail", "GSM", "tav"])
    assert mapping.positions == {"kvk": 0, "number": 1, "name": 2, "email": 4, "mobile": 5, "contact": 6}
    assert mapping.unknown == ["Kleur"]


def test_file_without_number_or_name_column_is_refused():
    with pytest.raises(MissingColumns) as caught:
        match_headers(["Naam", "Plaats"])
    assert "Cliëntnummer" in caught.value.message
    assert caught.value.details["missing"] == ["number"]


def _rows_of(tmp_path, content: bytes, kind: str, name="f"):
    path = tmp_path / f"{name}.{kind}"
    path.write_bytes(content)
    source = readers.open_source(kind, path).load()
    return source, list(source.rows())


@pytest.mark.parametrize("delimiter,encoding,bom", [(";", "utf-8", False), (",", "utf-8", True),
                                                    (";", "cp1252", False), (",", "cp1252", False),
                                                    (";", "utf-8", True)])
def test_csv_dialects_and_encodings_are_detected(tmp_path, delimiter, encoding, bom):
    content = csv_bytes(ROWS, delimiter=delimiter, encoding=encoding, bom=bom)
    source, rows = _rows_of(tmp_path, content, "csv")
    assert source.delimiter == delimiter
    assert source.encoding == ("utf-8-sig" if encoding == "utf-8" else "cp1252")
    assert rows[0][1][0] == "Cliëntnummer"  # BOM gone, accent intact
    assert rows[1] == (2, ROWS[0])           # separator inside quotes, accents, leading zero kept
    assert rows[2][1][1] == 'Firma "Quote", met\nnieuwe regel'  # quoted newline stays in one field


def test_utf8_with_a_stray_windows_1252_byte_stays_utf8(tmp_path):
    # a UTF-8 file into which one row was pasted from an old Windows-1252 export
    content = ("Cliëntnummer;Naam\r\n" + "".join(f"M{i};Zoë {i}\r\n" for i in range(3))).encode("utf-8")
    content += "M9;Café\r\n".encode("cp1252")
    source, rows = _rows_of(tmp_path, content, "csv")
    assert source.encoding == readers.MIXED
    assert [r[1] for r in rows] == [["Cliëntnummer", "Naam"], ["M0", "Zoë 0"], ["M1", "Zoë 1"], ["M2", "Zoë 2"],
                                    ["M9", "Café"]]
    assert readers.csv_header(tmp_path / "f.csv") == ["Cliëntnummer", "Naam"]  # the header is still found
    # a file with no UTF-8 in it at all is Windows-1252 throughout
    plain = "Cliëntnummer;Naam\r\nM9;Café\r\n".encode("cp1252")
    source, rows = _rows_of(tmp_path, plain, "csv", name="g")
    assert source.encoding == "cp1252" and rows[1][1] == ["M9", "Café"]


def test_xlsx_rows_read_as_text_with_excel_numbers_made_plain(tmp_path):
    content = xlsx_bytes([["000123", "Bakkerij", 1234567, None], [456.0, "Tweede", 12345678, None]],
                         headers=["Cliëntnummer", "Naam", "KvK", "Leeg"])
    _source, rows = _rows_of(tmp_path, content, "xlsx")
    assert rows[1] == (2, ["000123", "Bakkerij", "1234567", None])
    assert rows[2] == (3, ["456", "Tweede", "12345678", None])


def test_export_apostrophe_is_stripped_on_reimport():
    assert readers.clean_text("'=SUM(A1)") == "=SUM(A1)"
    assert readers.clean_text("'+31612345678") == "+31612345678"
    assert readers.clean_text("'t Hoekje") == "'t Hoekje"


# -- hostile files ------------------------------------------------------------------------
def test_extension_and_content_must_agree():
    with pytest.raises(UnsupportedFile):
        readers.kind_for("clients.xls")
    with pytest.raises(UnsupportedFile):
        readers.kind_for("clients.exe")
    with pytest.raises(UnsupportedFile):
        readers.check_head("xlsx", b"Clientnummer;Naam\r\n")
    with pytest.raises(UnsupportedFile):
        readers.check_head("csv", b"PK\x03\x04\x14\x00")
    with pytest.raises(UnsupportedFile):
        readers.check_head("xlsx", readers.OLE_MAGIC + b"\x00" * 8)
    readers.check_head("xlsx", b"PK\x03\x04")
    readers.check_head("csv", b"Clientnummer;Naam")


def test_csv_with_nul_byte_is_hostile():
    with pytest.raises(HostileFile):
        readers.check_csv_chunk(b"Clientnummer;Naam\r\n1;A\x00B\r\n")


def _check(tmp_path, content):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    readers.check_xlsx(path)


def test_real_xlsx_passes_the_checks(tmp_path):
    _check(tmp_path, xlsx_bytes(ROWS))


def test_zip_bomb_is_refused_by_its_ratio(tmp_path):
    bomb = zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>",
                      "xl/worksheets/sheet1.xml": b"\x00" * (50 * 1024 * 1024)})
    assert len(bomb) < 200 * 1024
    with pytest.raises(HostileFile) as caught:
        _check(tmp_path, bomb)
    assert "zip-bom" in caught.value.message


def test_lying_zip_header_is_refused(tmp_path):
    # declares 100 bytes, inflates to 5 MB: zipfile stops at the declared size and the CRC fails
    honest = zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>",
                        "xl/worksheets/sheet1.xml": b"<a>" + b"x" * (5 * 1024 * 1024) + b"</a>"})
    archive = zipfile.ZipFile(io.BytesIO(honest))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    real = info.file_size.to_bytes(4, "little")
    lie = (100).to_bytes(4, "little")
    # patch the declared size in both the local header and the central directory
    tampered = honest.replace(info.compress_size.to_bytes(4, "little") + real,
                              info.compress_size.to_bytes(4, "little") + lie)
    assert tampered != honest
    with pytest.raises(HostileFile):
        _check(tmp_path, tampered)


def test_too_many_zip_members_is_refused(tmp_path):
    members = {"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}
    members.update({f"xl/media/{i}.xml": "<a/>" for i in range(readers.MAX_ZIP_MEMBERS + 1)})
    with pytest.raises(HostileFile):
        _check(tmp_path, zip_bytes(members))


def test_xml_with_entities_is_refused(tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><workbook>&lol2;</workbook>')
    with pytest.raises(HostileFile):
        _check(tmp_path, zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": laughs}))
    with pytest.raises(HostileFile):
        _check(tmp_path, zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>",
                                    "xl/sharedStrings.xml": laughs}))


def test_a_dtd_late_in_a_member_or_in_utf16_is_refused(tmp_path):
    late = ('<?xml version="1.0"?><!--' + "x" * 40_000 + '--><!DOCTYPE worksheet [<!ENTITY a "aaaa">]>'
            '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a;</t></is></c></row></sheetData>'
            '</worksheet>')
    base = {"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}
    with pytest.raises(HostileFile):
        _check(tmp_path, zip_bytes(dict(base, **{"xl/worksheets/sheet1.xml": late})))
    utf16 = zipfile_with_bytes(dict(base), "xl/worksheets/sheet1.xml",
                               '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]><a/>'
                               .encode("utf-16"))
    with pytest.raises(HostileFile):
        _check(tmp_path, utf16)


def test_a_dtd_in_the_sheet_is_refused_by_the_header_reader_too(tmp_path):
    # defence in depth: the streaming header reader refuses a DTD itself (never a 500)
    from openpyxl import Workbook
    workbook = Workbook()
    workbook.active["A1"] = "Cliëntnummer"
    path = tmp_path / "h.xlsx"
    workbook.save(path)
    import zipfile
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    dtd = b'<!DOCTYPE w [<!ENTITY e "x">]>'
    members["xl/worksheets/sheet1.xml"] = (sheet.replace(b"?>", b"?>" + dtd, 1) if sheet.startswith(b"<?xml")
                                           else dtd + sheet)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(HostileFile):
        readers.check_header("xlsx", path)


def zipfile_with_bytes(members: dict, name: str, data: bytes) -> bytes:
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
        archive.writestr(name, data)
    return out.getvalue()


def test_zip_that_is_not_a_workbook_is_unsupported(tmp_path):
    with pytest.raises(UnsupportedFile):
        _check(tmp_path, zip_bytes({"readme.txt": "hallo"}))


def test_header_is_read_without_decoding_the_sheet(tmp_path):
    from openpyxl import Workbook
    workbook = Workbook()  # shared strings, a gap in the header row
    sheet = workbook.active
    sheet["A1"], sheet["B1"], sheet["D1"] = "Cliëntnummer", "Naam", "Kleur"
    sheet.append(["1", "Naam staat ook hier"])
    path = tmp_path / "h.xlsx"
    workbook.save(path)
    assert readers.xlsx_header(path) == ["Cliëntnummer", "Naam", None, "Kleur"]
    readers.check_header("xlsx", path)
    csv_path = tmp_path / "h.csv"
    csv_path.write_bytes(csv_bytes([], headers=["Naam", "Plaats"], encoding="cp1252"))
    with pytest.raises(MissingColumns):
        readers.check_header("csv", csv_path)


def test_header_below_empty_formatted_rows_is_found(tmp_path):
    from openpyxl import Workbook
    from openpyxl.styles import Font
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"].font = Font(bold=True)  # styled, empty: Excel writes a <row> for it
    sheet["A2"], sheet["B2"] = "Klantnummer", "Naam"
    sheet["A3"], sheet["B3"] = "1", "Eerste"
    path = tmp_path / "leeg-boven.xlsx"
    workbook.save(path)
    assert readers.xlsx_header(path) == ["Klantnummer", "Naam"]
    source = readers.open_source("xlsx", path).load()
    rows = [r for r in source.rows() if any(r[1])]
    assert rows == [(2, ["Klantnummer", "Naam"]), (3, ["1", "Eerste"])]  # Excel's row numbers
