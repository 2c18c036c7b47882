"""Per-row, per-field validation of an imported client row, with Dutch reasons.

A row arrives as ``{field: text}`` (only the cells that hold something); the
marshmallow schema normalises each value (KvK padded to 8 digits, postcode
"1234 AB", mobile in E.164, country as ISO code) or reports why not, per field.
Empty cells are simply absent: they never erase existing data.
"""
import functools
import re

import phonenumbers
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from stdnum.eu import vat as eu_vat

from chassis.dutch_numbers import elfproef, nl_vat_valid
from chassis.schemas import present_value_check
from importer.columns import BY_FIELD, fold

COUNTRY_NAMES = {
    "nederland": "NL", "netherlands": "NL", "thenetherlands": "NL", "holland": "NL", "nld": "NL",
    "belgie": "BE", "belgium": "BE", "belgique": "BE", "bel": "BE",
    "duitsland": "DE", "germany": "DE", "deutschland": "DE", "deu": "DE",
    "frankrijk": "FR", "france": "FR", "luxemburg": "LU", "luxembourg": "LU",
    "verenigdkoninkrijk": "GB", "unitedkingdom": "GB", "engeland": "GB", "uk": "GB", "grootbrittannie": "GB",
    "spanje": "ES", "spain": "ES", "italie": "IT", "italy": "IT", "oostenrijk": "AT", "austria": "AT",
    "zwitserland": "CH", "switzerland": "CH", "denemarken": "DK", "denmark": "DK", "zweden": "SE",
    "sweden": "SE", "noorwegen": "NO", "norway": "NO", "polen": "PL", "poland": "PL", "portugal": "PT",
    "ierland": "IE", "ireland": "IE", "finland": "FI", "griekenland": "GR", "greece": "GR", "tsjechie": "CZ",
    "hongarije": "HU", "roemenie": "RO", "bulgarije": "BG", "kroatie": "HR", "turkije": "TR", "turkey": "TR",
    "marokko": "MA", "suriname": "SR", "curacao": "CW", "aruba": "AW", "sintmaarten": "SX",
    "verenigdestaten": "US", "unitedstates": "US", "usa": "US", "canada": "CA", "china": "CN",
}
REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"GB", "EU"}

# Fast paths for the common Dutch case, using phonenumbers' own metadata patterns; anything
# else goes through phonenumbers in full. (Parsing is most of a row's validation time.)
_NL = phonenumbers.PhoneMetadata.metadata_for_region("NL")
_NL_MOBILE = re.compile(_NL.mobile.national_number_pattern)
_NL_FIXED = re.compile("|".join(f"(?:{d.national_number_pattern})" for d in (_NL.fixed_line, _NL.mobile, _NL.voip)))
_NL_NATIONAL = re.compile(r"^(?:\+31|0031|0)([1-9]\d{8})$")
_PHONE_NOISE = re.compile(r"[\s\-.()/]")


_KVK_NOISE = re.compile(r"[\s.]")
_DIGIT_NOISE = re.compile(r"[\s.\-]")


POSTCODE_NL = re.compile(r"^([1-9][0-9]{3})\s*([A-Za-z]{2})$")


@functools.lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    folded = fold(text)
    if len(folded) == 2 and folded.upper() in REGIONS:
        return folded.upper()
    return COUNTRY_NAMES.get(folded)


class Text(fields.String):
    def __init__(self, max_length: int, **kwargs):
        super().__init__(validate=validate.Length(max=max_length, error=f"Hoogstens {max_length} tekens."),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return " ".join(str(value).split())


class ClientNumber(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        if len(text) > 50:
            raise ValidationError("Een cliëntnummer heeft hoogstens 50 tekens.")
        return text


class KvkNumber(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        digits = _KVK_NOISE.sub("", str(value))
        if not digits.isdigit() or len(digits) > 8:
            raise ValidationError("Een KvK-nummer bestaat uit 8 cijfers.")
        digits = digits.zfill(8)  # Excel drops leading zeros of numbers
        if digits == "00000000":
            raise ValidationError("Een KvK-nummer bestaat uit 8 cijfers.")
        return digits


class ElfproefNumber(fields.String):
    """BSN and RSIN: 9 digits passing the elfproef (a lost leading zero is restored)."""

    def __init__(self, label: str, **kwargs):
        self.label = label
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        digits = _DIGIT_NOISE.sub("", str(value))
        if not digits.isdigit() or not 8 <= len(digits) <= 9:
            raise ValidationError(f"Een {self.label} bestaat uit 9 cijfers.")
        digits = digits.zfill(9)
        if not elfproef(digits):
            raise ValidationError(f"Dit {self.label} is ongeldig (de elfproef klopt niet).")
        return digits


class VatNumber(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        compact = _DIGIT_NOISE.sub("", str(value)).upper()
        if compact[:2].isdigit():
            compact = "NL" + compact
        if compact.startswith("NL"):
            if not nl_vat_valid(compact):
                raise ValidationError("Dit btw-nummer is ongeldig.")
            return compact
        if not eu_vat.is_valid(compact):
            raise ValidationError("Dit btw-nummer is ongeldig.")
        return compact


class Country(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        code = country_code(str(value))
        if code is None:
            raise ValidationError("Onbekend land; gebruik een landcode zoals NL of BE.")
        return code


class Postcode(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = " ".join(str(value).split()).upper()
        if _row_country(data) == "NL":
            match = POSTCODE_NL.match(text)
            if not match:
                raise ValidationError("Een Nederlandse postcode ziet eruit als 1234 AB.")
            return f"{match.group(1)} {match.group(2).upper()}"
        if len(text) > 10:
            raise ValidationError("Hoogstens 10 tekens.")
        return text


class Phone(fields.String):
    def __init__(self, mobile: bool = False, **kwargs):
        self.mobile = mobile
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        label = "mobiel nummer" if self.mobile else "telefoonnummer"
        text = str(value).strip()
        country = _row_country(data)
        if country == "NL":
            match = _NL_NATIONAL.match(_PHONE_NOISE.sub("", text))
            if match:
                national = match.group(1)
                if (_NL_MOBILE if self.mobile else _NL_FIXED).fullmatch(national):
                    return "+31" + national
        if text.startswith("00"):
            text = "+" + text[2:]
        try:
            number = phonenumbers.parse(text, country)
        except phonenumbers.NumberParseException:
            raise ValidationError(f"Ongeldig {label}.") from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(f"Ongeldig {label}.")
        if self.mobile and phonenumbers.number_type(number) not in (
                phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
            raise ValidationError("Dit is geen mobiel nummer.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Email(fields.Email):
    default_error_messages = {"invalid": "Ongeldig e-mailadres."}

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(str(value).strip(), attr, data, **kwargs).lower()


class BranchName(fields.String):
    """A branch of the firm by name (compared like headers); the schema's context has the branches."""

    def _deserialize(self, value, attr, data, **kwargs):
        branches = self.parent.context_branches
        branch_id = branches.get(value) if isinstance(value, str) else None  # the exact name: no folding
        if branch_id is None:
            branch_id = branches.get(fold(value))
        if branch_id is None:
            raise ValidationError(f"Onbekende vestiging '{str(value)[:100]}'.")
        return branch_id


def _row_country(data) -> str:
    code = country_code(str(data.get("country") or "NL"))
    return code or "NL"


REQUIRED = "Verplicht veld."


class ClientRowSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    number = ClientNumber(required=True, error_messages={"required": REQUIRED})
    name = Text(200, required=True, error_messages={"required": REQUIRED})
    legal_form = Text(100)
    kvk = KvkNumber()
    bsn = ElfproefNumber("BSN")
    rsin = ElfproefNumber("RSIN")
    vat = VatNumber()
    street = Text(200)
    house_number = Text(20)
    postcode = Postcode()
    city = Text(100)
    country = Country()
    email = Email()
    phone = Phone()
    mobile = Phone(mobile=True)
    contact = Text(200)
    branch = BranchName(data_key="branch", attribute="branch_id")

    def __init__(self, branches: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.context_branches = {fold(name): branch_id for name, branch_id in (branches or {}).items()}
        for name, branch_id in (branches or {}).items():
            if self.context_branches.get(fold(name)) == branch_id:
                self.context_branches.setdefault(name, branch_id)  # a cell spelled as the firm spells it
        self.load_fields_by_key = {field.data_key or name: field for name, field in self.load_fields.items()}
        self.checks_by_key = {key: (field.attribute or key, present_value_check(field))
                              for key, field in self.load_fields_by_key.items()}


# The name is required of new clients only (jobs._store_batch, once identity has said which are
# new): an empty cell never erases, so a row that updates a known client may leave it out.
REQUIRED_FIELDS = ("number",)
NEW_CLIENT_FIELDS = ("name",)
# The BSN as our export writes it (masked): "keep what is stored", as identity reads it too.
MASKED_BSN = re.compile(r"\*+[0-9]{0,4}")


def validate_row(schema: ClientRowSchema, raw: dict) -> tuple[dict, dict]:
    """(clean values, {field: Dutch reason}); only fields with a value appear in the clean values.

    The schema's own fields do the work, called directly per cell: a full ``Schema.load``
    per row costs about twice as much for the same result, and rows come by the 100,000."""
    clean, errors = {}, {}
    checks = schema.checks_by_key
    for key, value in raw.items():
        entry = checks.get(key)
        if entry is None:
            continue
        if key == "bsn" and isinstance(value, str) and "*" in value and MASKED_BSN.fullmatch(value.strip()):
            continue  # a re-imported export: the masked BSN is no value
        try:
            clean[entry[0]] = entry[1](value, key, raw)
        except ValidationError as exc:
            messages = exc.messages
            errors[key] = messages[0] if isinstance(messages, list) else str(messages)
    for key in REQUIRED_FIELDS:
        if key not in raw:
            errors[key] = REQUIRED
    return clean, errors


def label(field: str) -> str:
    return BY_FIELD[field].header if field in BY_FIELD else field
