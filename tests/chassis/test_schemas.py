"""RowLoader gives exactly what Schema.load gives: the same values, the same errors."""
import random

import pytest
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from chassis.schemas import RowLoader


class Row(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _refuse_nul(self, data, **_kw):
        if any(isinstance(v, str) and "\x00" in v for v in data.values()):
            raise ValidationError("Ongeldige tekens (NUL).", "_schema")
        return data

    number = fields.String(required=True, validate=validate.Length(min=1, max=8))
    name = fields.String(allow_none=True, validate=[validate.Length(max=12), validate.Length(min=2)])
    code = fields.String(validate=validate.Length(equal=4))
    city = fields.String(load_default="Utrecht")
    branch = fields.Integer(data_key="vestiging", attribute="branch_id", allow_none=True,
                            validate=validate.Range(min=1, max=99))
    email = fields.Email(allow_none=True)
    kind = fields.String(validate=validate.OneOf(["a", "b"]))
    shown = fields.String(dump_only=True)


class StrictRow(Row):
    class Meta:
        unknown = RAISE


def outcome(load, row):
    try:
        return "ok", load(row)
    except ValidationError as exc:
        return "error", exc.messages


def random_row(rng):
    choices = {
        "number": ["1", "12345678", "123456789", "", None, 7],
        "name": ["Jansen", "een veel te lange naam", None, "a\x00b", 3.5],
        "city": ["Zwolle", None, ""],
        "vestiging": [1, 99, 100, 0, "12", "twaalf", None],
        "email": ["a@b.nl", "geen adres", None],
        "kind": ["a", "c", None],
        "code": ["1234", "123", "12345", b"1234", 1234],
        "shown": ["x"],
        "extra": ["wordt genegeerd"],
    }
    often = {"shown": 0.1, "extra": 0.1}  # unknown keys: a strict schema refuses every such row
    return {key: rng.choice(values) for key, values in choices.items() if rng.random() < often.get(key, 0.6)}


@pytest.mark.parametrize("schema_class", [Row, StrictRow])
def test_same_values_and_same_errors_as_schema_load(schema_class):
    schema = schema_class()
    loader = RowLoader(schema)
    rng = random.Random(20261129)
    seen = {"ok": 0, "error": 0}
    for _ in range(8000):
        row = random_row(rng)
        expected = outcome(schema.load, row)
        assert outcome(loader.load, row) == expected, row
        seen[expected[0]] += 1
    assert seen["ok"] > 50 and seen["error"] > 50  # both paths were really taken


def test_a_valid_row_does_not_go_through_schema_load(monkeypatch):
    schema = Row()
    loader = RowLoader(schema)
    monkeypatch.setattr(schema, "load", lambda *_a, **_k: pytest.fail("Schema.load called for a valid row"))
    assert loader.load({"number": "42", "vestiging": 3, "extra": 1}) == {"number": "42", "branch_id": 3,
                                                                          "city": "Utrecht"}


class WithNested(Schema):
    inner = fields.Nested(Row)


class WithSchemaCheck(Schema):
    a = fields.String()

    @validates_schema
    def _check(self, data, **_kw):
        pass


class WithPostLoad(Schema):
    a = fields.String()

    @post_load
    def _make(self, data, **_kw):
        return data


@pytest.mark.parametrize("schema_class", [WithNested, WithSchemaCheck, WithPostLoad])
def test_schemas_that_need_the_full_load_are_refused(schema_class):
    with pytest.raises(TypeError):
        RowLoader(schema_class())
