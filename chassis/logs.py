"""Structured JSON logging that never writes a secret.

Every record is one JSON line. Fields whose names mean a secret (password, pin,
code, token, ...) are replaced by "[redacted]" wherever they appear in the
record's extras, and the same values are scrubbed from the message text when
they appear as ``key=value`` or JSON pairs.
"""
import datetime as dt
import json
import logging
import re
import sys

SECRET_KEYS = ("password", "pin", "code", "token", "secret", "activation", "authorization",
               "cookie", "challenge", "auth_token", "api_key")
REDACTED = "[redacted]"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_PAIR = re.compile(
    r"""(?ix)(["']?(?:%s)[a-z_]*["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}]+)""" % "|".join(SECRET_KEYS))
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def is_secret_key(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in SECRET_KEYS) and key not in {"postcode", "country_code", "error_code", "code_sent"}


def redact(value):
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret_key(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def scrub(text: str) -> str:
    text = _BEARER.sub(r"\1" + REDACTED, text)
    return _PAIR.sub(lambda m: m.group(1) + REDACTED, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = REDACTED if is_secret_key(key) else redact(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "INFO", stream=None):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our lines carry neither thread, process nor source position; not collecting them spares every
    # record (one access line per gateway request) a green current_thread(), a getpid() and a stack
    # walk (the logging HOWTO's "Optimization" switches).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    # nameko logs every worker's args at debug level; keep them out.
    logging.getLogger("nameko").setLevel("WARNING")
    # Domain errors (a wrong password) are expected; nameko would log each with a traceback.
    logging.getLogger("nameko.containers").setLevel("ERROR")
    logging.getLogger("amqp").setLevel("WARNING")
    logging.getLogger("kombu").setLevel("WARNING")
