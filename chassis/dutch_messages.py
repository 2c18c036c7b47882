"""marshmallow's own validation messages in Dutch (SPEC: users see Dutch text).

Our schemas give their domain messages themselves; what marshmallow says on its own (a required field, a value
that is no number, an unknown field, a length or choice validator without ``error=``) reaches people too: in the
API's ``details.fields`` and on the web pages. Installed once, when chassis is imported, before any service or
gateway schema is defined (field instances copy their class's messages when they are made)."""
from marshmallow import Schema, fields, validate

FIELD_MESSAGES = {
    fields.Field: {"required": "Verplicht veld.", "null": "Mag niet leeg zijn.",
                   "validator_failed": "Ongeldige waarde."},
    fields.String: {"invalid": "Geen geldige tekst.", "invalid_utf8": "Geen geldige UTF-8-tekst."},
    fields.Number: {"invalid": "Geen geldig getal.", "too_large": "Getal te groot."},
    fields.Integer: {"invalid": "Geen geldig geheel getal."},
    fields.Float: {"special": "Bijzondere getalwaarden (nan, oneindig) zijn niet toegestaan."},
    fields.Boolean: {"invalid": "Geen geldige ja/nee-waarde."},
    fields.Email: {"invalid": "Geen geldig e-mailadres."},
    fields.Url: {"invalid": "Geen geldige URL."},
    fields.UUID: {"invalid_uuid": "Geen geldige UUID."},
    fields.List: {"invalid": "Geen geldige lijst."},
    fields.Nested: {"type": "Ongeldig type."},
    fields.Mapping: {"invalid": "Geen geldig object."},
    fields.DateTime: {"invalid": "Geen geldige datum en tijd.", "invalid_awareness": "Geen geldige datum en tijd.",
                      "format": '"{input}" kan niet als datum en tijd worden weergegeven.'},
    fields.Date: {"invalid": "Geen geldige datum.", "format": '"{input}" kan niet als datum worden weergegeven.'},
}

VALIDATOR_MESSAGES = {
    validate.Length: {"message_min": "Te kort (minimaal {min}).", "message_max": "Te lang (maximaal {max}).",
                      "message_all": "De lengte moet tussen {min} en {max} liggen.",
                      "message_equal": "De lengte moet {equal} zijn."},
    validate.OneOf: {"default_message": "Kies een van: {choices}."},
    validate.Range: {"message_min": "Moet {min_op} {{min}} zijn.", "message_max": "Moet {max_op} {{max}} zijn.",
                     "message_all": "Moet {min_op} {{min}} en {max_op} {{max}} zijn.",
                     "message_gt": "groter dan", "message_gte": "ten minste", "message_lt": "kleiner dan",
                     "message_lte": "ten hoogste"},
    validate.Regexp: {"default_message": "Ongeldige vorm."},
    validate.Email: {"default_message": "Geen geldig e-mailadres."},
    validate.URL: {"default_message": "Geen geldige URL."},
    validate.Equal: {"default_message": "Moet gelijk zijn aan {other}."},
}

SCHEMA_MESSAGES = {"type": "Ongeldig invoertype.", "unknown": "Onbekend veld."}


def install() -> None:
    for cls, messages in FIELD_MESSAGES.items():
        # the class's own dict, not an inherited one: a subclass without messages of its own keeps inheriting
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}
    for cls, messages in VALIDATOR_MESSAGES.items():
        for name, text in messages.items():
            setattr(cls, name, text)
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}
