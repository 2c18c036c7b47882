"""The client file's columns (SPEC §3): template headers, aliases, and header matching.

Headers are compared without case, accents, spaces, dots, dashes and underscores,
so "KvK-nummer", "kvk nummer" and "KVK_NUMMER" are the same column.
"""
import unicodedata
from dataclasses import dataclass

from importer.exceptions import MissingColumns


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple
    width: int
    text: bool = False  # stored as text in Excel so leading zeros survive
    example: str = ""


COLUMNS = (
    Column("number", "Cliëntnummer", ("Clientnummer", "Relatienummer", "Klantnummer", "Debiteurnummer",
                                      "Client number"), 14, True, "000123"),
    Column("name", "Naam", ("Bedrijfsnaam", "Cliëntnaam", "Relatienaam", "Name"), 32, False, "Bakkerij De Vries B.V."),
    Column("legal_form", "Rechtsvorm", ("Legal form",), 16, False, "BV"),
    Column("kvk", "KvK-nummer", ("KvK", "KvK nummer", "Handelsregisternummer", "Chamber of Commerce"), 13, True,
           "01234567"),
    Column("bsn", "BSN", ("Burgerservicenummer", "Sofinummer"), 12, True, ""),
    Column("rsin", "RSIN", ("Fiscaal nummer",), 12, True, "001234523"),  # passes the elfproef, as it must
    Column("vat", "Btw-nummer", ("BTW-id", "Omzetbelastingnummer", "VAT number"), 17, True, "NL004495445B01"),
    Column("street", "Straat", ("Adres", "Street"), 26, False, "Dorpsstraat"),
    Column("house_number", "Huisnummer", ("Nr", "Huisnr", "House number"), 11, True, "12a"),
    Column("postcode", "Postcode", ("Postal code", "Zip"), 10, True, "1234 AB"),
    Column("city", "Plaats", ("Woonplaats", "Vestigingsplaats", "City"), 20, False, "Utrecht"),
    Column("country", "Land", ("Country",), 8, False, "NL"),
    Column("email", "E-mail", ("Email", "E-mailadres", "Mail"), 28, False, "info@bakkerijdevries.nl"),
    Column("phone", "Telefoon", ("Telefoonnummer", "Phone"), 15, True, "030 123 4567"),
    Column("mobile", "Mobiel", ("Mobiel nummer", "GSM", "Mobile"), 15, True, "06 12345678"),
    Column("contact", "Contactpersoon", ("Contact", "Tav"), 22, False, "J. de Vries"),
    Column("branch", "Vestiging", ("Kantoor", "Branch"), 16, False, ""),
)

FIELDS = tuple(c.field for c in COLUMNS)
BY_FIELD = {c.field: c for c in COLUMNS}
REQUIRED = ("number", "name")


def fold(header) -> str:
    """The comparable form of a header: no case, accents, spaces, dots, dashes or underscores."""
    text = unicodedata.normalize("NFKD", str(header or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "._-")


_LOOKUP = {}
for _column in COLUMNS:
    for _name in (_column.header,) + _column.aliases:
        _LOOKUP[fold(_name)] = _column.field


@dataclass
class HeaderMap:
    """Which position in a row holds which field; what was not recognised."""
    positions: dict  # field -> column index
    unknown: list    # headers we ignore
    duplicates: list  # headers naming a field already mapped (ignored)

    def as_dict(self) -> dict:
        return {"fields": {f: i for f, i in self.positions.items()}, "unknown": self.unknown,
                "duplicates": self.duplicates}


def match_headers(headers) -> HeaderMap:
    positions, unknown, duplicates = {}, [], []
    for index, header in enumerate(headers):
        label = "" if header is None else str(header).strip()
        if not label:
            continue
        field = _LOOKUP.get(fold(label))
        if field is None:
            unknown.append(label)
        elif field in positions:
            duplicates.append(label)
        else:
            positions[field] = index
    missing = [f for f in REQUIRED if f not in positions]
    if missing:
        names = " en ".join(f"'{BY_FIELD[f].header}'" for f in missing)
        raise MissingColumns(
            f"Het bestand mist de kolom {names}. Gebruik het sjabloon of geef de kolommen een herkenbare kop.",
            {"missing": missing, "unknown": unknown})
    return HeaderMap(positions, unknown, duplicates)
