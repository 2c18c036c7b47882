"""Health of a service process: readiness = broker and database reachable."""
import os
import socket

import kombu
from nameko import config
from nameko.extensions import DependencyProvider

from chassis.db import Database, get_engine


def database_ok(url: str | None = None) -> bool:
    try:
        engine = get_engine(url or config["DATABASE_URL"])
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False


def broker_ok(amqp_uri: str | None = None, timeout: float = 2.0) -> bool:
    try:
        with kombu.Connection(amqp_uri or config["AMQP_URI"], connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except (socket.error, OSError, Exception):
        return False


class HealthCheck(DependencyProvider):
    """``health = HealthCheck()``; ``self.health.status()`` for a ``ping`` RPC."""

    def get_dependency(self, worker_ctx):
        return self

    def status(self) -> dict:
        databases = [d for d in self.container.dependencies if isinstance(d, Database)]
        ok = all(database_ok() for _ in databases[:1])
        return {"service": self.container.service_name, "database": ok, "broker": True, "pid": os.getpid()}


def service_alive(service_name: str, timeout: float = 5.0) -> bool:
    """For exec probes of services without HTTP: does ``service.ping`` answer over RabbitMQ?"""
    import eventlet
    from nameko import config as nameko_config
    from nameko.standalone.rpc import ClusterRpcClient

    from chassis import config as settings
    nameko_config.update(settings.nameko_config())
    try:
        with eventlet.Timeout(timeout):
            with ClusterRpcClient() as rpc:
                status = rpc[service_name].ping()
        return bool(status.get("database"))
    except BaseException:
        return False
