"""Export of the clients a principal may see, in the template's layout (.xlsx or .csv).

Cells that a spreadsheet would run as a formula (starting with = + - @ tab or CR)
are neutralised with a leading apostrophe; the reader strips it again on re-import.
"""
import csv
import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from importer.columns import COLUMNS

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if value is None:
        return None
    text = str(value)
    if text.startswith(DANGEROUS_START):
        return "'" + text
    return text


def client_values(client: dict, branch_names: dict) -> list:
    values = []
    for column in COLUMNS:
        if column.field == "branch":
            value = branch_names.get(client.get("branch_id")) or client.get("branch")
        else:
            value = client.get(column.field)
        values.append(neutralise(value))
    return values


def filename(fmt: str) -> str:
    return f"clienten-{dt.date.today().isoformat()}.{fmt}"


def write_xlsx(clients, branch_names: dict) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Cliënten")
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for client in clients:
        row = []
        for column, value in zip(COLUMNS, client_values(client, branch_names)):
            cell = WriteOnlyCell(sheet, value=value)
            if value is not None:
                cell.data_type = "s"  # text, never a formula
                if column.text:
                    cell.number_format = "@"
            row.append(cell)
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_csv(clients, branch_names: dict) -> bytes:
    """Semicolon-separated UTF-8 with BOM: what Dutch Excel opens correctly."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    for client in clients:
        writer.writerow(["" if v is None else v for v in client_values(client, branch_names)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


PAGE = 500
MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8"}


def visible_clients(identity, principal: dict):
    """Every client the principal may see, page by page from identity (which enforces the scope)."""
    page = 1
    while True:
        result = identity.search_clients(principal=principal, query={"page": page, "per_page": PAGE})
        items = result.get("items") or []
        yield from items
        if len(items) < PAGE or page * PAGE >= int(result.get("total") or 0):
            return
        page += 1


def export(identity, p, principal: dict, fmt: str) -> dict:
    import base64
    p.require_staff()
    branch_names = {b["id"]: b.get("name") for b in identity.list_branches(principal=principal)}
    clients = visible_clients(identity, principal)
    content = write_xlsx(clients, branch_names) if fmt == "xlsx" else write_csv(clients, branch_names)
    return {"filename": filename(fmt), "mimetype": MIMETYPES[fmt],
            "content_base64": base64.b64encode(content).decode()}
