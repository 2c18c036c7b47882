"""marshmallow for rows that come by the thousand: the schema's own fields, called directly.

``Schema.load`` spends most of its time on bookkeeping that a flat row of present values does
not need (a getter closure and an error store per field, an ``And`` of the validators built on
every call, partial/unknown/required resolution). An import sends 100,000 rows through it.
``RowLoader`` keeps the schema as the single definition and calls each field's own
``_deserialize`` and validators; whenever anything is wrong with a row it hands that row to
``Schema.load``, so errors, and the messages users see, are always marshmallow's own.
"""
from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.utils import missing


def present_value_check(field: fields.Field):
    """``field.deserialize`` for a present value that is not None, without the per-call bookkeeping:
    the field's own ``_deserialize``, then its validators (the first one that fails is reported with the
    field's ``validator_failed`` message, as marshmallow reports a validator returning False)."""
    if field.pre_load or field.post_load:
        return lambda value, key, data: field.deserialize(value, key, data)
    deserialize = field._deserialize
    validators = tuple(field.validators)
    if not validators:
        return _text_of_length(deserialize, 0, None) if type(field) is fields.String else deserialize

    def check(value, key, data):
        output = deserialize(value, key, data)
        for validator in validators:
            if validator(output) is False:
                raise ValidationError(field.error_messages["validator_failed"])
        return output
    if type(field) is fields.String and all(type(v) is validate.Length for v in validators):
        lows = [v.equal if v.equal is not None else (v.min or 0) for v in validators]
        highs = [v.equal if v.equal is not None else v.max for v in validators]
        highs = [high for high in highs if high is not None]
        return _text_of_length(check, max(lows), min(highs) if highs else None)
    return check


def _text_of_length(check, shortest: int, longest: int | None):
    # A plain ``String`` with only ``Length`` rules: a str of an allowed length is its own result
    # (what String._deserialize and Length return for it); anything else takes the full check.
    def text(value, key, data):
        if type(value) is str and shortest <= len(value) and (longest is None or len(value) <= longest):
            return value
        return check(value, key, data)
    return text


class RowLoader:
    """``loader.load(row)`` returns what ``schema.load(row)`` returns, faster for a flat schema.

    Only flat schemas qualify: no Nested/List/Dict fields, no ``@validates``, ``@validates_schema`` or
    ``@post_load`` hooks (``@pre_load`` hooks run as usual). Checked when the loader is built."""

    _NOT_FLAT = (fields.Nested, fields.List, fields.Dict, fields.Tuple, fields.Pluck)

    def __init__(self, schema: Schema):
        hooks = schema._hooks
        if hooks[VALIDATES] or hooks[VALIDATES_SCHEMA] or hooks[POST_LOAD]:
            raise TypeError(f"{type(schema).__name__}: schema-level hooks other than @pre_load need Schema.load")
        if schema.unknown == INCLUDE:
            raise TypeError(f"{type(schema).__name__}: unknown=INCLUDE needs Schema.load")
        self.schema = schema
        self.pre_load = bool(hooks[PRE_LOAD])
        self.raise_unknown = schema.unknown == RAISE
        self.present, self.absent = {}, []
        for name, field in schema.load_fields.items():
            if isinstance(field, self._NOT_FLAT):
                raise TypeError(f"{type(schema).__name__}.{name}: {type(field).__name__} needs Schema.load")
            key, attribute = field.data_key or name, field.attribute or name
            self.present[key] = (attribute, field.allow_none, present_value_check(field))
            if field.required or field.load_default is not missing:
                self.absent.append((key, attribute, field.required, field.load_default))

    def load(self, data):
        try:
            return self._fast(data)
        except (ValidationError, _Slow):
            return self.schema.load(data)  # raises with marshmallow's own messages (or decides otherwise)

    def _fast(self, data):
        if not isinstance(data, dict):
            raise _Slow()
        if self.pre_load:
            data = self.schema._invoke_load_processors(PRE_LOAD, data, many=False, original_data=data,
                                                       partial=None, unknown=None)
        out = {}
        present = self.present
        for key, value in data.items():
            entry = present.get(key)
            if entry is None:
                if self.raise_unknown:
                    raise _Slow()
                continue
            attribute, allow_none, check = entry
            if value is None:
                if not allow_none:
                    raise _Slow()
                out[attribute] = None
            else:
                out[attribute] = check(value, key, data)
        for key, attribute, required, default in self.absent:
            if key not in data:
                if required:
                    raise _Slow()
                out[attribute] = default() if callable(default) else default
        return out


class _Slow(Exception):
    """This row needs the full Schema.load."""


__all__ = ["RowLoader", "present_value_check"]
