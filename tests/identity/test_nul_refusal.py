"""identity refuses text with NUL anywhere in an RPC input; the check's fast path must agree with a full walk."""
import pytest
from marshmallow import ValidationError

from identity.schemas import ImportRowSchema, _has_nul, _walk_has_nul

CASES = [
    ({"a": [{"b": "x\x00"}]}, True),
    ({"a\x00": 1}, True),  # in a key
    ({1: "\x00"}, True),  # a key that is not text
    ({"a": "\\u0000"}, False),  # a literal backslash-u0000 is text, not NUL
    ({"a": [b"x", "y\x00"]}, True),  # bytes: orjson does not write them, so the walk decides
    ({"a": [b"x\x00"]}, False),
    ({"n": 2 ** 70}, False),  # beyond orjson's integers
    ({"n": 2 ** 70, "s": "\x00"}, True),
    ({"rows": [{"number": str(i), "name": "Naam"} for i in range(500)] + [{"name": "laat\x00"}]}, True),
    ({"rows": [{"number": str(i), "name": "Naam"} for i in range(500)]}, False),
]


@pytest.mark.parametrize("value, expected", CASES)
def test_has_nul_agrees_with_the_walk(value, expected):
    assert _has_nul(value) is expected
    assert _walk_has_nul(value) is expected


def test_an_import_row_with_nul_is_refused():
    assert ImportRowSchema().load({"number": "1", "name": "Een"})["name"] == "Een"
    with pytest.raises(ValidationError) as caught:
        ImportRowSchema().load({"number": "2", "name": "Twee", "contact": "twee\x00"})
    assert "NUL" in str(caught.value.messages)
