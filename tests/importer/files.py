"""Builders for client files in the shapes firms send: .xlsx and .csv in several dialects."""
import csv
import io
import zipfile

from openpyxl import Workbook

HEADERS = ["Cliëntnummer", "Naam", "KvK-nummer", "Postcode", "Plaats", "E-mail", "Mobiel"]


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, headers=HEADERS, delimiter=";", encoding="utf-8", bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def zip_bytes(members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()
