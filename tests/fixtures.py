"""Shared fixtures: a fresh PostgreSQL database per run, a fresh RabbitMQ vhost per
portal, and the whole portal (every service + the real gateway) in this process."""
import io
import logging
import os
import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from nameko import config as nameko_config
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.utils import find_free_port

ADMIN_URL = os.environ.get("AKKOORD_TEST_ADMIN_DATABASE_URL", "postgresql://127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def database_url():
    """A fresh PostgreSQL database for this test run, migrated to head, dropped afterwards."""
    from chassis.db import dispose_engines, normalise_url
    from chassis.migrations import upgrade_all

    name = f"akkoord_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(normalise_url(ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    os.environ["AKKOORD_DATABASE_URL"] = url
    upgrade_all(url)
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_engine(database_url):
    from chassis.db import get_engine
    return get_engine(database_url)


class Vhost:
    """A throwaway RabbitMQ vhost made through the management API."""

    def __init__(self, request):
        from nameko.testing import rabbit
        self.manager = rabbit.Client(request.config.getoption("RABBIT_API_URI"))
        amqp = request.config.getoption("RABBIT_AMQP_URI")
        self.name = f"akkoord_test_{uuid.uuid4().hex[:10]}"
        self.manager.create_vhost(self.name)
        parts = urlsplit(amqp)
        self.manager.set_vhost_permissions(self.name, parts.username or "guest", ".*", ".*", ".*")
        self.amqp_uri = f"{parts.scheme}://{parts.netloc}/{self.name}"

    def delete(self):
        self.manager.delete_vhost(self.name)


@pytest.fixture
def vhost(request):
    v = Vhost(request)
    yield v
    v.delete()


@pytest.fixture
def service_config(vhost, database_url):
    """nameko config for services in this test: fresh vhost, the test database, a free port."""
    values = {"AMQP_URI": vhost.amqp_uri, "DATABASE_URL": database_url,
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}", "serializer": "json",
              "max_workers": 10}
    with nameko_config.patch(values):
        yield values


class ApiClient(requests.Session):
    """requests against the gateway, with the base URL and an optional bearer token."""

    def __init__(self, base_url: str, token: str | None = None):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)

    def as_user(self, token: str) -> "ApiClient":
        return ApiClient(self.base_url, token)


class Portal:
    """Every available service and the gateway, running in this process."""

    def __init__(self, values, services=None):
        from chassis.runner import available_services, service_class
        self.values = values
        self.names = services or available_services()
        self.runner = ServiceRunner()
        for name in self.names:
            self.runner.add_service(service_class(name))
        self.url = f"http://{values['WEB_SERVER_ADDRESS']}"
        self.platform_token = os.environ["AKKOORD_PLATFORM_TOKEN"]
        self._rpc = None

    def start(self):
        self.runner.start()
        return self

    def stop(self):
        if self._rpc is not None:
            self._rpc.stop()
        from chassis.runner import stop_callers_first
        stop_callers_first(self.runner)

    def kill(self):
        self.runner.kill()

    def drop_cached_principals(self):
        """Forget the gateway's cached token → principal answers, as their TTL would: for tests that
        change identity's tables directly, behind identity's change broadcast."""
        from gateway.principals import PrincipalCache
        for container in self.runner.containers:
            for dependency in container.dependencies:
                if isinstance(dependency, PrincipalCache):
                    dependency.store.clear()

    def api(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.url, token)

    @property
    def rpc(self):
        """A cluster RPC client for calling services directly, as another service would."""
        if self._rpc is None:
            self._rpc = ClusterRpcClient(uri=self.values["AMQP_URI"])
            self._rpc_proxy = self._rpc.start()
        return self._rpc_proxy

    # -- helpers every e2e test needs ------------------------------------
    def create_firm(self, name=None, branches=("Amsterdam", "Utrecht"), multi_branch=True, password=None):
        suffix = uuid.uuid4().hex[:8]
        admin = {"username": f"admin-{suffix}", "password": password or f"Zeer geheim {suffix} wachtwoord",
                 "name": "Anna de Beheerder", "email": f"admin-{suffix}@example.nl"}
        body = {"name": name or f"Kantoor {suffix}", "multi_branch": multi_branch,
                "branches": list(branches), "admin": admin}
        response = self.api(self.platform_token).post("/api/v1/platform/firms", json=body)
        assert response.status_code == 201, response.text
        firm = response.json()
        firm["admin"] = admin
        return firm

    def login(self, username, password) -> ApiClient:
        response = self.api().post("/api/v1/session", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return self.api(response.json()["token"])


@pytest.fixture
def portal(service_config):
    p = Portal(service_config).start()
    yield p
    p.stop()


def shows_secret(text: str, secret: str) -> bool:
    """Whether ``secret`` (a PIN, an SMS code) appears in ``text`` as a word of its own. Six digits in a row
    also turn up by chance inside timestamps' microseconds, uuids, hashes and hex addresses."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text) is not None


@pytest.fixture
def captured_logs():
    """Every log line written during the test, as production formats it (chassis.logs JSON), to look for
    secrets in; the root logger's handlers come back afterwards."""
    from chassis import logs

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logs.configure(level="DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
