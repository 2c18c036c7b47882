"""The embedded default (SQLite under var/) runs the same migrations and the same portal path."""
import pytest
from nameko import config as nameko_config
from nameko.testing.utils import find_free_port

from chassis.db import dispose_engines
from chassis.migrations import upgrade_all
from tests.fixtures import Portal


@pytest.fixture
def sqlite_portal(vhost, tmp_path):
    url = f"sqlite:///{tmp_path / 'akkoord.db'}"
    upgrade_all(url)
    values = {"AMQP_URI": vhost.amqp_uri, "DATABASE_URL": url,
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}", "serializer": "json", "max_workers": 10}
    with nameko_config.patch(values):
        portal = Portal(values).start()
        yield portal
        portal.stop()
    dispose_engines()


def test_firm_and_login_on_embedded_sqlite(sqlite_portal, tmp_path):
    firm = sqlite_portal.create_firm()
    api = sqlite_portal.login(firm["admin"]["username"], firm["admin"]["password"])
    assert api.get("/api/v1/me").json()["firm"]["id"] == firm["firm_id"]
    # one file per service schema, beside the main file
    assert (tmp_path / "akkoord-identity.db").exists()
