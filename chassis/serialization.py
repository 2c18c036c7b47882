"""JSON on the bus and at the HTTP edge, encoded and decoded by orjson.

Every RPC request and reply is JSON (kombu's ``json`` serializer). The standard library
codec costs about 0.55 ms to encode and as much to decode a 36 KB approval page; orjson
does it in a tenth of that, and a screen is encoded by the service, decoded by the
gateway and encoded again for HTTP (bench approval).

The wire format stays kombu's: the same content type, and the types kombu wraps
(datetime, date, time, Decimal, bytes) still travel as ``{"__type__", "__value__"}``
envelopes made by kombu's own encoder, and are revived by kombu's own decoder, so a process
without this module (a standalone client, an older replica during an upgrade) reads and
writes the same messages. Anything orjson refuses (an integer beyond 64 bits, say) is left
to kombu's codec as before. One difference: a UUID travels as its text (kombu would wrap it);
our RPCs carry plain JSON-safe data, so none is sent.
"""
import json

import orjson
from kombu import serialization
from kombu.utils import json as kombu_json

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_ENVELOPE = '"__type__"'
_kombu_encoder = kombu_json.JSONEncoder()


def _kombu_default(value):
    # kombu's envelopes for the types it revives; orjson calls this only for types it does not encode
    return _kombu_encoder.default(value)


def dumps(value) -> bytes:
    """kombu-compatible JSON as UTF-8 bytes."""
    try:
        return orjson.dumps(value, default=_kombu_default, option=_OPTIONS)
    except TypeError:  # e.g. int beyond 64 bits, a str subclass with its own __json__: the old way
        return kombu_json.dumps(value).encode("utf-8")


def loads(data):
    if isinstance(data, (memoryview, bytearray)):
        data = bytes(data)
    envelope = _ENVELOPE if isinstance(data, str) else _ENVELOPE.encode()
    if envelope in data:  # only kombu's decoder revives wrapped datetimes, decimals and bytes
        return kombu_json.loads(data)
    return orjson.loads(data)


def dumps_text(value) -> bytes:
    """JSON for an HTTP body: non-ASCII kept as UTF-8, unknown types as their text."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def column_dumps(value) -> str:
    """JSON text for a JSON column (SQLAlchemy's json_serializer, chassis.db.insert_many)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson refuses, the standard library decides on as before
        return json.dumps(value)


def column_loads(text):
    """A JSON column's value (SQLAlchemy's json_deserializer: psycopg2 decodes json with it)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. NaN, which PostgreSQL's json keeps and orjson refuses
        return json.loads(text)


def install():
    """Make kombu's ``json`` serializer (nameko's default) use this codec in this process."""
    serialization.register("json", dumps, loads, content_type="application/json", content_encoding="utf-8")
