"""Fixtures for notify: the portal with SMS through a local twilio fake and e-mail to a local SMTP sink."""
import time

import pytest

from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.fixtures import Portal


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_smtp():
    fake = FakeSmtp().start()
    yield fake
    fake.stop()


@pytest.fixture
def fast_retries(monkeypatch):
    # Backoff base and HTTP timeout small, so retry tests take seconds, not minutes.
    monkeypatch.setenv("AKKOORD_NOTIFY_RETRY_BASE", "0.2")
    monkeypatch.setenv("AKKOORD_TWILIO_TIMEOUT", "1")


@pytest.fixture
def twilio_portal(monkeypatch, service_config, fake_twilio, fake_smtp, fast_retries):
    """The whole portal, SMS through the twilio library to the fake, e-mail over SMTP to the sink."""
    for key, value in {**fake_twilio.env(), **fake_smtp.env()}.items():
        monkeypatch.setenv(key, value)
    portal = Portal(service_config).start()
    yield portal
    portal.stop()


@pytest.fixture
def outbox_portal(monkeypatch, service_config, fast_retries):
    """The portal as `make demo` runs it: SMS and e-mail kept in the outbox."""
    monkeypatch.setenv("AKKOORD_SMS_BACKEND", "outbox")
    monkeypatch.delenv("AKKOORD_SMTP_HOST", raising=False)
    monkeypatch.setenv("AKKOORD_DEV_PAGES", "1")  # as make demo: /dev/sms and /dev/mail are read here
    portal = Portal(service_config).start()
    yield portal
    portal.stop()


def wait_for(predicate, timeout=20.0, interval=0.1):
    """Poll until predicate() is truthy (for background work); fail with its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, "condition not reached in time"
    return value
