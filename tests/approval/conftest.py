"""Fixtures for approval: the whole portal, SMS through the local twilio fake."""
import pytest

from tests.fakes.twilio import FakeTwilio
from tests.fixtures import Portal


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def approval_portal(monkeypatch, service_config, fake_twilio):
    for key, value in fake_twilio.env().items():
        monkeypatch.setenv(key, value)
    portal = Portal(service_config).start()
    yield portal
    portal.stop()
