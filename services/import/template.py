"""The downloadable .xlsx template: Dutch header row, an example row, column widths,
text format for number-like columns (Excel keeps leading zeros), data validation,
and a sheet explaining the columns."""
import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from importer.columns import COLUMNS, REQUIRED

SHEET = "Cliënten"
LAST_ROW = 100000
COUNTRY_CHOICES = ("NL", "BE", "DE", "FR", "LU", "GB", "ES", "IT", "AT", "CH")

HELP = {
    "number": "Verplicht. Uniek binnen het kantoor; herkent de cliënt bij elke volgende import.",
    "name": "Verplicht. Naam van het bedrijf of de persoon.",
    "kvk": "8 cijfers; een weggevallen voorloopnul wordt aangevuld.",
    "bsn": "Alleen voor personen; 9 cijfers, gecontroleerd met de elfproef. Wordt versleuteld bewaard.",
    "rsin": "9 cijfers (elfproef).",
    "vat": "Bijvoorbeeld NL004495445B01.",
    "postcode": "Nederlandse postcode: 1234 AB.",
    "country": "Landcode (NL, BE, DE, ...) of landnaam; leeg betekent Nederland.",
    "mobile": "Nodig voor inloggen of accorderen met een sms-code.",
    "branch": "Naam van de vestiging; leeg: de vestiging die u bij het uploaden kiest.",
}


def build(branch_names=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F4E78")
    example_font = Font(italic=True, color="808080")
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center")
        if column.field in HELP:
            cell.comment = Comment(HELP[column.field], "akkoord")
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        if column.text:
            dimension.number_format = "@"
        example = branch_names[0] if column.field == "branch" and branch_names else column.example
        example_cell = sheet.cell(row=2, column=index, value=example or None)
        example_cell.font = example_font
        if column.text:
            example_cell.number_format = "@"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}1"
    _validations(sheet, branch_names)
    _help_sheet(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def is_example(cells: list, positions: dict) -> bool:
    """The template's example row, left in place by someone typing the clients below it: its number and
    name as the template wrote them. It is no client of the firm."""
    for column in COLUMNS:
        if column.field in ("number", "name"):
            index = positions.get(column.field)
            if index is None or index >= len(cells) or cells[index] != column.example:
                return False
    return True


def _letter(field: str) -> str:
    return get_column_letter([c.field for c in COLUMNS].index(field) + 1)


def _validations(sheet, branch_names):
    def add(field, validation):
        validation.add(f"{_letter(field)}2:{_letter(field)}{LAST_ROW}")
        sheet.add_data_validation(validation)

    add("kvk", DataValidation(type="textLength", operator="between", formula1="7", formula2="8",
                              allow_blank=True, showErrorMessage=True, errorTitle="KvK-nummer",
                              error="Een KvK-nummer bestaat uit 8 cijfers."))
    add("bsn", DataValidation(type="textLength", operator="between", formula1="8", formula2="9",
                              allow_blank=True, showErrorMessage=True, errorTitle="BSN",
                              error="Een BSN bestaat uit 9 cijfers."))
    add("rsin", DataValidation(type="textLength", operator="between", formula1="8", formula2="9",
                               allow_blank=True, showErrorMessage=True, errorTitle="RSIN",
                               error="Een RSIN bestaat uit 9 cijfers."))
    add("postcode", DataValidation(type="textLength", operator="lessThanOrEqual", formula1="10",
                                   allow_blank=True, showErrorMessage=True, errorTitle="Postcode",
                                   error="Een Nederlandse postcode ziet eruit als 1234 AB."))
    add("number", DataValidation(type="textLength", operator="between", formula1="1", formula2="50",
                                 allow_blank=True, showErrorMessage=True, errorTitle="Cliëntnummer",
                                 error="Een cliëntnummer heeft 1 tot 50 tekens."))
    add("email", DataValidation(type="custom", formula1=f'ISNUMBER(FIND("@",{_letter("email")}2))',
                                allow_blank=True, showErrorMessage=True, errorTitle="E-mail",
                                error="Vul een geldig e-mailadres in."))
    add("country", DataValidation(type="list", formula1='"' + ",".join(COUNTRY_CHOICES) + '"',
                                  allow_blank=True, showErrorMessage=False,
                                  promptTitle="Land", prompt="Kies een landcode of typ een ander land.",
                                  showInputMessage=True))
    names = [n for n in branch_names if "," not in n and '"' not in n]
    if names and len(",".join(names)) < 250:  # Excel's limit for an inline list
        add("branch", DataValidation(type="list", formula1='"' + ",".join(names) + '"', allow_blank=True,
                                     showErrorMessage=True, errorTitle="Vestiging",
                                     error="Kies een vestiging van het kantoor."))


def _help_sheet(workbook):
    sheet = workbook.create_sheet("Uitleg")
    sheet.append(["Kolom", "Verplicht", "Ook herkend als", "Toelichting"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        sheet.append([column.header, "ja" if column.field in REQUIRED else "", ", ".join(column.aliases),
                      HELP.get(column.field, "")])
    for letter, width in zip("ABCD", (18, 10, 55, 80)):
        sheet.column_dimensions[letter].width = width
