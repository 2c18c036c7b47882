"""The preview: each valid row compared with the client identity holds under that number.

new: no such client; update: some non-empty cell differs (those fields are listed);
unchanged: every non-empty cell equals what is stored (empty cells never count,
since they never erase). Both sides are normalised the same way before comparing,
so "Nederland" and "NL" or "0612345678" and "+31612345678" are equal.
"""
from marshmallow import ValidationError

from importer.validation import ClientRowSchema

COMPARED = ("name", "legal_form", "kvk", "bsn", "rsin", "vat", "street", "house_number", "postcode", "city",
            "country", "email", "phone", "mobile", "contact")


def _normalised(schema: ClientRowSchema, field: str, value, row: dict):
    if value in (None, ""):
        return None
    try:
        return schema.fields[field].deserialize(str(value), field, row)
    except ValidationError:
        return str(value)


def classify(schema: ClientRowSchema, clean: dict, existing: dict | None) -> tuple[str, list | None]:
    if existing is None:
        return "new", None
    changes = []
    for field in COMPARED:
        if field not in clean:
            continue
        if clean[field] != _normalised(schema, field, existing.get(field), existing):
            changes.append(field)
    if "branch_id" in clean and clean["branch_id"] != existing.get("branch_id"):
        changes.append("branch")
    return ("update", changes) if changes else ("unchanged", None)


def previous(existing: dict, changed: list) -> dict:
    """What the client holds now for each field an update would change (a BSN shown masked)."""
    result = {}
    for field in changed:
        value = existing.get("branch_id") if field == "branch" else existing.get(field)
        if field == "bsn" and value:
            value = "*" * 6 + str(value)[-3:]
        result[field] = value
    return result
