"""SMS carriers: the real twilio client, or the local outbox for developers and demos.

``AKKOORD_SMS_BACKEND=twilio`` uses the twilio library. ``TWILIO_API_BASE`` points it
at another base URL (tests run a local fake of the Messages API): twilio 9.x builds
every URL as ``https://<product>.twilio.com/...``; our ``http_client`` swaps that
scheme and host for the configured base before the request leaves, so a plain
``http://127.0.0.1:PORT`` works and nothing else about the library is bypassed.

A carrier answers a send with one of three outcomes: Accepted (twilio took it),
Permanent (4xx: bad number, blocked, ... — never retried) or Transient (5xx,
timeout, connection refused — retried with backoff by sms.py). A Transient is
ambiguous when the request may have reached twilio (read timeout, connection lost
after sending): twilio may have accepted the message.
"""
import functools
import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from nameko.extensions import DependencyProvider

from chassis import config

log = logging.getLogger(__name__)

# seconds per HTTP attempt; a retry is scheduled, never a blocking loop
SEND_TIMEOUT = float(os.environ.get("AKKOORD_TWILIO_TIMEOUT", "10"))

# twilio's client logs requests at INFO; keep it quiet so nothing of a message leaks to logs.
_quiet = logging.getLogger("notify.twilio_http")
_quiet.setLevel(logging.CRITICAL)
_quiet.propagate = False


@dataclass
class Accepted:
    sid: str | None
    status: str


@dataclass
class Permanent:
    code: str
    message: str


@dataclass
class Transient:
    message: str
    ambiguous: bool = False  # twilio may have taken the message: a retry may send it twice


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """A connection that was never made sent nothing; a read timeout or a dropped connection may hide
    a message twilio accepted."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ReadTimeout):
        return True
    reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
    return not isinstance(reason, NewConnectionError)


class BaseUrlHttpClient(TwilioHttpClient):
    """twilio's own requests-based client, sending to ``base`` instead of *.twilio.com."""

    def __init__(self, base: str | None, timeout: float | None = None):
        timeout = timeout or float(os.environ.get("AKKOORD_TWILIO_TIMEOUT", SEND_TIMEOUT))
        super().__init__(pool_connections=True, timeout=timeout, logger=_quiet)
        self.base = urlsplit(base.rstrip("/")) if base else None

    def request(self, method, url, **kwargs):
        if self.base is not None:
            parts = urlsplit(url)
            if parts.hostname and parts.hostname.endswith("twilio.com"):
                url = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + parts.path,
                                  parts.query, parts.fragment))
        return super().request(method, url, **kwargs)


class TwilioCarrier:
    name = "twilio"

    def __init__(self, settings: config.Settings | None = None):
        settings = settings or config.load()
        self.settings = settings
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                             http_client=BaseUrlHttpClient(settings.twilio_api_base))

    def send(self, to: str, sender: str | None, body: str, status_callback: str | None):
        sender = sender or self.settings.twilio_from
        kwargs = {"to": to, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        if sender and sender.startswith("MG") and len(sender) == 34:
            kwargs["messaging_service_sid"] = sender
        else:
            kwargs["from_"] = sender
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioException as exc:
            status = int(getattr(exc, "status", 0) or 0)
            text = str(getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "") or "")
            text = text.split("Unable to create record: ", 1)[-1][:400]
            if 400 <= status < 500 and status not in (408, 429):
                return Permanent(str(getattr(exc, "code", None) or status), text)
            return Transient(f"twilio {status}: {text[:300]}")
        except (requests.Timeout, requests.ConnectionError) as exc:
            return Transient(f"twilio onbereikbaar: {type(exc).__name__}", ambiguous=_may_have_arrived(exc))
        except Exception as exc:  # bad JSON answer and the like: try again later, bounded by MAX_ATTEMPTS
            log.warning("unexpected twilio answer", extra={"error": type(exc).__name__})
            return Transient(f"onverwacht antwoord van twilio: {type(exc).__name__}")
        return Accepted(message.sid, message.status or "queued")


class OutboxCarrier:
    """Stores only: the message stays in notify's table and shows on the gateway's /dev/sms page."""
    name = "outbox"

    def send(self, to, sender, body, status_callback):
        return Accepted(None, "sent")


def sms_backend_name() -> str:
    return "twilio" if config.load().sms_backend == "twilio" else "outbox"


@functools.lru_cache(maxsize=4)
def _twilio(sid, token, sender, base, timeout) -> TwilioCarrier:
    return TwilioCarrier(config.load())


def carrier_for(backend: str):
    """One client (and HTTP connection pool) per configuration, reused across attempts."""
    if backend != "twilio":
        return OutboxCarrier()
    s = config.load()
    return _twilio(s.twilio_account_sid, s.twilio_auth_token, s.twilio_from, s.twilio_api_base,
                   os.environ.get("AKKOORD_TWILIO_TIMEOUT"))


class CarrierHealth(DependencyProvider):
    """Per service instance: when the carrier just failed transiently, an RPC does not wait on it
    again for a while; new messages are queued at once and the single delivery pass (with each
    message's own backoff) probes the carrier. Callers never pile up on a carrier that is down."""

    HOLD_SECONDS = 30.0

    def setup(self):
        self.down_since = None

    def get_dependency(self, worker_ctx):
        return self

    def report(self, outcome):
        if isinstance(outcome, Transient):
            self.down_since = time.monotonic()
        elif isinstance(outcome, (Accepted, Permanent)):
            self.down_since = None

    def is_down(self) -> bool:
        return self.down_since is not None and time.monotonic() - self.down_since < self.HOLD_SECONDS
