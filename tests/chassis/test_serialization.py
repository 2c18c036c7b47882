"""The bus codec (chassis.serialization): orjson underneath, kombu's JSON on the wire."""
import datetime as dt
import json
from decimal import Decimal

from kombu import serialization as kombu_serialization
from kombu.utils import json as kombu_json

from chassis import serialization

SAMPLE = {
    "items": [{"id": 1, "name": "Bakkerij Ĳsselmeer B.V.", "approved_by": [], "note": None, "ok": True}],
    "total": 10036, "ratio": 0.25,
}


def test_installed_codec_is_what_kombu_uses_for_json():
    serialization.install()
    content_type, encoding, payload = kombu_serialization.dumps(SAMPLE, serializer="json")
    assert (content_type, encoding) == ("application/json", "utf-8")
    assert payload == serialization.dumps(SAMPLE)
    assert kombu_serialization.loads(payload, content_type, encoding) == SAMPLE


def test_messages_read_the_same_by_a_process_without_it():
    """A standalone client or an older replica uses kombu's own codec: both directions agree."""
    assert kombu_json.loads(serialization.dumps(SAMPLE)) == SAMPLE
    assert serialization.loads(kombu_json.dumps(SAMPLE)) == SAMPLE
    assert serialization.loads(kombu_json.dumps(SAMPLE).encode()) == SAMPLE


def test_types_kombu_revives_still_travel_in_its_envelopes():
    value = {"at": dt.datetime(2026, 11, 28, 12, 0, 1, 5), "day": dt.date(2026, 11, 28),
             "amount": Decimal("12.50"), "raw": b"\x00\xff"}
    encoded = serialization.dumps(value)
    assert json.loads(encoded)["at"] == {"__type__": "datetime", "__value__": "2026-11-28T12:00:01.000005"}
    assert serialization.loads(encoded) == value
    assert kombu_json.loads(encoded) == value
    assert serialization.loads(kombu_json.dumps(value)) == value


def test_what_orjson_refuses_goes_the_old_way():
    value = {"big": 2 ** 70, 5: "int key"}
    encoded = serialization.dumps(value)
    assert serialization.loads(encoded) == {"big": 2 ** 70, "5": "int key"}
    assert json.loads(encoded) == json.loads(kombu_json.dumps(value))


def test_http_bodies_keep_text_as_utf8_and_unknown_types_as_text():
    body = serialization.dumps_text({"name": "Ĳssel", "at": dt.date(2026, 1, 2), "n": Decimal("1.5")})
    assert "Ĳssel".encode() in body
    assert json.loads(body) == {"name": "Ĳssel", "at": "2026-01-02", "n": "1.5"}
