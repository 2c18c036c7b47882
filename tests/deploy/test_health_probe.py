"""Issue 8 point 3: the exec probes the manifests use, run as the kubelet would run them."""
import os
import subprocess
import sys
import uuid

import sqlalchemy as sa

from tests.fixtures import ADMIN_URL

AKKOORD = [sys.executable, "-m", "cli.main"]


def run(args, env, timeout=60):
    return subprocess.run(AKKOORD + args, env=env, capture_output=True, text=True, timeout=timeout)


def probe_env(amqp_uri, database_url):
    return dict(os.environ, AMQP_URI=amqp_uri, AKKOORD_DATABASE_URL=database_url)


def test_health_exits_0_when_identity_answers_over_rabbitmq(portal):
    result = run(["health", "identity", "--timeout", "20"], probe_env(portal.values["AMQP_URI"],
                                                                      portal.values["DATABASE_URL"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_health_exits_1_when_the_service_is_not_running(vhost, database_url):
    # Same broker and database, but no identity consumes on this vhost.
    result = run(["health", "identity", "--timeout", "3"], probe_env(vhost.amqp_uri, database_url))
    assert result.returncode == 1
    assert result.stdout.strip() == "unhealthy"


def test_health_exits_1_when_the_broker_is_unreachable(database_url):
    # Nothing listens on port 1: the probe must fail within its timeout, not hang.
    result = run(["health", "identity", "--timeout", "3"], probe_env("pyamqp://guest:guest@127.0.0.1:1/", database_url))
    assert result.returncode == 1


def test_wait_migrations_passes_on_a_migrated_database(vhost, database_url):
    result = run(["wait-migrations", "--timeout", "10"], probe_env(vhost.amqp_uri, database_url))
    assert result.returncode == 0, result.stderr
    assert "heads" in result.stdout


def test_wait_migrations_keeps_pods_waiting_on_an_unmigrated_database(vhost, database_url):
    from chassis.db import normalise_url
    name = f"akkoord_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        empty = sa.engine.make_url(normalise_url(ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
        result = run(["wait-migrations", "--timeout", "2", "--interval", "0.5"], probe_env(vhost.amqp_uri, empty))
        assert result.returncode == 1
        assert "identity at nothing" in result.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
