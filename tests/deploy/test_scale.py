"""Issue 8 point 5: `akkoord scale` runs replicas as separate OS processes on one RabbitMQ.

Two identity processes (plus the gateway) compete for identity's RPC queue. A stream of
`create_firm` RPCs, each emitting a `firm_created` event through identity's outbox, runs
while one replica gets SIGTERM: every call is answered once, every event reaches the
(idempotent) consumer exactly once, and the supervisor reports the exit without restarting it.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.utils import find_free_port

from chassis.db import Database
from chassis.inbox import define_inbox, idempotent_handler

SCHEMA = "deploy_scale_test"
metadata = sa.MetaData(schema=SCHEMA)
inbox = define_inbox(metadata)
effects = sa.Table("firm_effects", metadata, sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("firm_id", sa.Integer, nullable=False), sa.Column("event_id", sa.String(36)))


class FirmCounterService:
    """A consumer of identity's events, like notify or importer would be."""
    name = "deploy_scale_counter"
    db = Database(SCHEMA)

    @idempotent_handler(inbox, "identity", "firm_created")
    def on_firm_created(self, data, envelope):
        self.db.session.execute(effects.insert().values(firm_id=data["firm_id"], event_id=envelope["event_id"]))


def firm_payload(tag, i):
    return {"name": f"Schaal {tag} {i}", "multi_branch": False, "branches": ["Hoofdkantoor"],
            "admin": {"username": f"scale-{tag}-{i}", "password": f"Heel lang wachtwoord {tag} {i}",
                      "name": "Beheerder", "email": f"scale-{tag}-{i}@example.nl"}}


class ScaleProcess:
    """`akkoord scale` as a child process; its stdout lines are collected in a thread."""

    def __init__(self, args, env):
        self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "scale", *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.out, self.err = [], []
        for stream, sink in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink.append(line.rstrip("\n"))

    def started(self) -> dict:
        return {m.group(1): int(m.group(2)) for line in list(self.out)
                for m in [re.match(r"started (\S+) pid (\d+)", line)] if m}

    def stop(self, timeout=60):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            for pid in self.started().values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of the (still running) supervisor counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # not up yet (UnknownService, connection refused)
            value, last = None, exc
        if value:
            return value
        eventlet.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


@pytest.fixture
def counter(service_config, db_engine):
    with db_engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    metadata.drop_all(db_engine)
    metadata.create_all(db_engine)
    runner = ServiceRunner()
    runner.add_service(FirmCounterService)
    runner.start()
    yield
    runner.stop()


@pytest.fixture
def scaled(service_config, counter, tmp_path):
    port = find_free_port()
    env = dict(os.environ, AMQP_URI=service_config["AMQP_URI"], AKKOORD_DATABASE_URL=service_config["DATABASE_URL"],
               AKKOORD_HTTP=f"127.0.0.1:{port}", AKKOORD_HEARTBEAT_FILE=str(tmp_path / "heartbeat"),
               AKKOORD_VAR_DIR=str(tmp_path))
    scale = ScaleProcess(["--replicas", "2", "--grace", "30", "identity"], env)
    scale.port = port
    scale.heartbeat = tmp_path / "heartbeat"
    yield scale
    scale.stop()


def test_replicas_share_the_work_and_sigterm_loses_no_rpc_or_event(scaled, service_config, db_engine):
    import requests

    started = wait_for(lambda: len(scaled.started()) == 3 and scaled.started(), 30, "three processes")
    assert set(started) == {"identity#1", "identity#2", "gateway#1"}
    identity_pids = {started["identity#1"], started["identity#2"]}
    assert os.getpid() not in identity_pids

    with ClusterRpcClient(uri=service_config["AMQP_URI"]) as rpc:
        # Competing consumers: pings are answered by both processes.
        def both_answer():
            seen = {rpc.identity.ping()["pid"] for _ in range(20)}
            return seen if seen == identity_pids else None
        answered_by = wait_for(both_answer, 60, "both identity replicas to consume")
        assert answered_by == identity_pids
        assert wait_for(lambda: requests.get(f"http://127.0.0.1:{scaled.port}/readyz", timeout=5).status_code == 200,
                        30, "gateway ready")
        assert scaled.heartbeat.exists()  # the runner's liveness heartbeat

        # A stream of RPCs that each commit a firm and emit an event; SIGTERM one replica halfway.
        tag = uuid.uuid4().hex[:8]
        total = 60
        victim = started["identity#1"]
        replies = []
        for i in range(total):
            replies.append(rpc.identity.create_firm.call_async({"kind": "platform"}, firm_payload(tag, i)))
            if i == total // 2:
                os.kill(victim, signal.SIGTERM)
            eventlet.sleep(0.01)
        results = [reply.result() for reply in replies]

        # The victim stopped gracefully and was not restarted; the other replica goes on.
        wait_for(lambda: not alive(victim), 30, "the SIGTERMed replica to exit")
        assert rpc.identity.ping()["pid"] == started["identity#2"]

    firm_ids = [r["firm_id"] for r in results]
    assert len(firm_ids) == total and len(set(firm_ids)) == total
    with db_engine.connect() as conn:
        created = conn.execute(sa.text("SELECT id FROM identity.firms WHERE name LIKE :p"),
                               {"p": f"Schaal {tag} %"}).scalars().all()
    assert sorted(created) == sorted(firm_ids)  # each RPC took effect exactly once

    def all_effects():
        with db_engine.connect() as conn:
            rows = conn.execute(sa.select(effects.c.firm_id).where(effects.c.firm_id.in_(firm_ids))).scalars().all()
        return rows if len(set(rows)) == total else None
    rows = wait_for(all_effects, 60, "every firm_created event to be consumed")
    eventlet.sleep(1.5)  # give a duplicate delivery, if any, the time to land before counting again
    rows = all_effects()
    assert sorted(rows) == sorted(firm_ids)  # every event consumed, none twice

    exited = [line for line in scaled.err if f"pid {victim}" in line]
    assert exited and "not restarted" in exited[0] and "code 0" in exited[0], scaled.err
    assert len(scaled.started()) == 3  # nothing restarted silently

    # SIGTERM to the supervisor reaches every replica; all stop cleanly.
    assert scaled.stop() == 0, scaled.err
    assert not any(alive(pid) for pid in started.values())
    assert any("stopping: SIGTERM to 2 replicas" in line for line in scaled.out)
