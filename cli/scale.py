"""Deploy-side commands: ``akkoord scale`` and ``akkoord wait-migrations``.

``akkoord scale --replicas N [SERVICE...]`` runs N separate OS processes (``akkoord serve
SERVICE``) per service plus one gateway, all on the same RabbitMQ: the replicas of a service
are competing consumers of its RPC queue and its event-handler queues, exactly like pods of a
Deployment. SIGTERM or Ctrl-C is forwarded to every replica, which stops gracefully (nameko
finishes in-flight workers; unacknowledged messages go back to the queue for the others).
A replica that exits is reported on stderr and NOT restarted: that is the supervisor's job
(Kubernetes, systemd), and a silent restart would hide a crash loop.

``akkoord wait-migrations`` is the initContainer of every Deployment: it waits until the
database is at the head revision of every service's migrations *in this image*, so pods of a
new version never start before the migration Job has run (and never migrate themselves).
"""
import os
import signal
import subprocess
import sys
import time

DEFAULT_SERVICES = ["identity", "importer", "approval", "notify", "letters", "filing"]


def register(subparsers):
    scale = subparsers.add_parser("scale", help="run N processes of each service plus the gateway on one machine")
    scale.add_argument("services", nargs="*", help="services to replicate (default: every available service)")
    scale.add_argument("--replicas", "-n", type=int, default=2, help="processes per service (default 2)")
    scale.add_argument("--no-gateway", action="store_true", help="do not start the gateway process")
    scale.add_argument("--grace", type=float, default=30.0,
                       help="seconds a replica gets to stop after SIGTERM before it is killed (default 30)")
    scale.set_defaults(func=scale_command)

    wait = subparsers.add_parser("wait-migrations",
                                 help="wait until the database is at this image's migration heads (initContainer)")
    wait.add_argument("--timeout", type=float, default=600.0)
    wait.add_argument("--interval", type=float, default=3.0)
    wait.set_defaults(func=wait_migrations_command)


# -- scale -----------------------------------------------------------------------------------

class Replica:
    def __init__(self, service: str, index: int):
        self.service = service
        self.index = index
        self.label = f"{service}#{index}"
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self):
        env = dict(os.environ, AKKOORD_REPLICA=self.label)
        # Own session: a terminal's Ctrl-C reaches only the supervisor, which forwards SIGTERM once.
        self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", self.service],
                                        env=env, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self):
        if self.returncode is None and self.process.poll() is not None:
            self.returncode = self.process.returncode
        return self.returncode

    def signal(self, signum):
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass


class Supervisor:
    def __init__(self, plan: list[tuple[str, int]], grace: float = 30.0, out=None, err=None):
        self.replicas = [Replica(service, i) for service, count in plan for i in range(1, count + 1)]
        self.grace = grace
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stopping = False
        self.unexpected: list[Replica] = []

    def say(self, stream, text):
        stream.write(text + "\n")
        stream.flush()

    def start(self):
        for replica in self.replicas:
            replica.start()
            self.say(self.out, f"started {replica.label} pid {replica.pid}")
        return self

    def request_stop(self, signum=signal.SIGTERM, _frame=None):
        if not self.stopping:
            self.stopping = True
            self.say(self.out, f"stopping: SIGTERM to {sum(r.poll() is None for r in self.replicas)} replicas")
            for replica in self.replicas:
                replica.signal(signal.SIGTERM)

    def run(self) -> int:
        reported = set()
        deadline = None
        while True:
            for replica in self.replicas:
                if replica.poll() is not None and replica.label not in reported:
                    reported.add(replica.label)
                    how = "stopped" if self.stopping else "exited"
                    self.say(self.err if not self.stopping else self.out,
                             f"{how} {replica.label} pid {replica.pid} code {replica.returncode}"
                             + ("" if self.stopping else " (not restarted)"))
                    if not self.stopping:
                        self.unexpected.append(replica)
            if all(r.poll() is not None for r in self.replicas):
                break
            if self.stopping:
                deadline = deadline or time.monotonic() + self.grace
                if time.monotonic() > deadline:
                    for replica in self.replicas:
                        if replica.poll() is None:
                            self.say(self.err, f"killing {replica.label} pid {replica.pid}: no stop within {self.grace}s")
                            replica.signal(signal.SIGKILL)
                    deadline = time.monotonic() + 3600
            time.sleep(0.1)
        failed = [r for r in self.replicas if r.returncode not in (0, -signal.SIGTERM)]
        return 1 if failed else 0


def plan_for(services: list[str], replicas: int, gateway: bool) -> list[tuple[str, int]]:
    if replicas < 1:
        raise SystemExit("akkoord scale: --replicas must be at least 1")
    plan = [(service, replicas) for service in services if service != "gateway"]
    if gateway:
        plan.append(("gateway", 1))  # one HTTP listener per address; scale HTTP with more machines/pods
    return plan


def scale_command(args):
    services = args.services or [name for name in DEFAULT_SERVICES if _has_service_module(name)]
    unknown = sorted(set(services) - set(DEFAULT_SERVICES) - {"gateway"})
    if unknown:
        raise SystemExit(f"akkoord scale: unknown services {unknown}")
    supervisor = Supervisor(plan_for(services, args.replicas, not args.no_gateway), grace=args.grace)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    supervisor.start()
    return supervisor.run()


def _has_service_module(name: str) -> bool:
    # Not chassis.runner: importing it monkey-patches eventlet, which this plain supervisor avoids.
    import importlib.util
    try:
        return importlib.util.find_spec(f"{name}.service") is not None
    except ImportError:
        return False


# -- wait-migrations -------------------------------------------------------------------------

def pending_migrations(url: str | None = None) -> dict:
    """{package: {"current": [...], "head": [...]}} for every service not at its head revisions."""
    import importlib
    from pathlib import Path

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from chassis import config as settings
    from chassis.db import get_engine, is_postgres
    from chassis.migrations import SERVICE_PACKAGES, alembic_config

    url = url or settings.load().database_url
    engine = get_engine(url)
    pending = {}
    for package in SERVICE_PACKAGES.values():
        if not (Path(importlib.import_module(package).__file__).parent / "migrations" / "env.py").exists():
            continue
        heads = set(ScriptDirectory.from_config(alembic_config(package, url)).get_heads())
        opts = {"version_table_schema": package} if is_postgres(engine) else {}
        try:
            with engine.connect() as conn:
                current = set(MigrationContext.configure(conn, opts=opts).get_current_heads())
        except Exception:  # schema or version table missing: not migrated yet
            current = set()
        if heads != current:
            pending[package] = {"current": sorted(current), "head": sorted(heads)}
    return pending


def wait_migrations_command(args):
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            pending = pending_migrations()
            error = None
        except Exception as exc:  # database not reachable yet
            pending, error = None, exc
        if pending == {}:
            print("migrations: database is at this image's heads")
            return 0
        if time.monotonic() >= deadline:
            what = f"database unreachable ({type(error).__name__})" if error is not None else \
                ", ".join(f"{p} at {v['current'] or 'nothing'} (head {v['head']})" for p, v in pending.items())
            print(f"migrations: not ready after {args.timeout:.0f}s: {what}", file=sys.stderr)
            return 1
        time.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))
