"""RPC round trips: bare kombu vs nameko RPC vs the gateway hop, and 1 vs 2 replicas.

    .venv/bin/python -m bench rpc [--requests N] [--concurrency C]

Everything runs on loopback in this one run, on a fresh database and RabbitMQ vhost:
- floor: a bare kombu request/reply round trip to an echo consumer in another process (transient
  messages, replies acked as our own RPC client acks them);
- a direct nameko RPC to notify.dev_mail_outbox (one cheap query) and to identity.authenticate +
  identity.me, made from a nameko container in this process with the same ServiceRpc the gateway
  uses (nameko's standalone ClusterRpcClient is no floor: it opens a new broker connection to
  wait for every reply, +10-15 ms a call here);
- the same through the gateway: GET /dev/mail?format=json (one RPC, unauthenticated) and
  GET /api/v1/me (two RPCs: authenticate + me);
- throughput through the gateway with 1 and 2 replicas per service (`akkoord scale`,
  separate processes), C concurrent keep-alive clients.
HTTP is timed with http.client keep-alive connections, as lean a caller as the floor's kombu one.
The sequential rows are measured interleaved, in rounds of 50 calls of each (the floor among them),
so a machine whose speed drifts during the run weighs on every row alike.
Loops are bounded by count; the services are stopped at the end.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (nameko's standalone client wants a patched world)

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import kombu  # noqa: E402
import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

ADMIN_DB = os.environ.get("AKKOORD_TEST_ADMIN_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
AMQP = os.environ.get("AKKOORD_BENCH_AMQP", "pyamqp://guest:guest@127.0.0.1:5672/")
RABBIT_API = os.environ.get("AKKOORD_BENCH_RABBIT_API", "http://guest:guest@127.0.0.1:15672")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"median_ms": statistics.median(samples) * 1000,
            "p90_ms": samples[int(len(samples) * 0.9) - 1] * 1000, "n": len(samples)}


def timed(fn, n: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return summary(samples)


# -- a direct nameko caller ---------------------------------------------------------------------

def make_caller():
    """A nameko service whose workers call identity and notify as the gateway's do."""
    from chassis.rpc_client import ServiceRpc
    from nameko.rpc import rpc

    class BenchCaller:
        name = "bench_caller"
        identity = ServiceRpc("identity")
        notify = ServiceRpc("notify")
        echo_service = ServiceRpc("bench_echo")

        @rpc
        def echo(self):
            return self.echo_service.echo()

        @rpc
        def ping(self):
            return self.identity.ping()

        @rpc
        def mail(self):
            return self.notify.dev_mail_outbox(limit=10)

        @rpc
        def me(self, principal):
            return self.identity.me(principal)

        @rpc
        def authenticate_me(self, token):
            return self.identity.me(self.identity.authenticate(token))

    return BenchCaller


def make_echo():
    """nameko's own floor: a service that only answers (chassis rpc: drained, transient replies)."""
    from chassis.entrypoints import rpc

    class BenchEcho:
        name = "bench_echo"

        @rpc
        def echo(self):
            return {"ok": True}

    return BenchEcho


# -- environment ------------------------------------------------------------------------------

class Environment:
    """A fresh database (migrated) and a fresh vhost, dropped at the end."""

    def __init__(self):
        from chassis.db import normalise_url
        self.db_name = f"akkoord_rpcbench_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(normalise_url(ADMIN_DB), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.db_name}"'))
        self.database_url = sa.engine.make_url(normalise_url(ADMIN_DB)).set(
            database=self.db_name).render_as_string(hide_password=False)
        self.vhost = f"akkoord_rpcbench_{uuid.uuid4().hex[:8]}"
        api = RABBIT_API.rstrip("/")
        requests.put(f"{api}/api/vhosts/{self.vhost}", timeout=10).raise_for_status()
        user = urlsplit(AMQP).username or "guest"
        requests.put(f"{api}/api/permissions/{self.vhost}/{user}", timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        parts = urlsplit(AMQP)
        self.amqp_uri = f"{parts.scheme}://{parts.netloc}/{self.vhost}"
        self.var = tempfile.mkdtemp(prefix="akkoord-bench-")
        self.platform_token = "bench-" + uuid.uuid4().hex
        from chassis.migrations import upgrade_all
        upgrade_all(self.database_url)

    def env(self, http_port: int) -> dict:
        return dict(os.environ, AMQP_URI=self.amqp_uri, AKKOORD_DATABASE_URL=self.database_url,
                    AKKOORD_HTTP=f"127.0.0.1:{http_port}", AKKOORD_VAR_DIR=self.var,
                    AKKOORD_PLATFORM_TOKEN=self.platform_token, AKKOORD_SECRET_KEY="bench-" + uuid.uuid4().hex,
                    AKKOORD_SMS_BACKEND="outbox", AKKOORD_LOG_LEVEL="WARNING",
                    AKKOORD_DEV_PAGES="1")  # /dev/mail is the 1-RPC request measured through the gateway

    def close(self):
        from chassis.db import dispose_engines
        dispose_engines()
        requests.delete(f"{RABBIT_API.rstrip('/')}/api/vhosts/{self.vhost}", timeout=10)
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()


class Scaled:
    """`akkoord scale --replicas N identity notify` (plus the gateway) as one child process."""

    def __init__(self, env: Environment, replicas: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(env.var, f"scale-{replicas}.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "scale", "--replicas", str(replicas), "identity", "notify"],
            env=env.env(self.port), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.replicas = replicas

    def wait_ready(self, rpc, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pids = {rpc.identity.ping()["pid"] for _ in range(4 * self.replicas)}
                if len(pids) == self.replicas and requests.get(self.url + "/readyz", timeout=2).ok:
                    return
            except Exception:
                pass
            eventlet.sleep(0.3)
        raise RuntimeError("services did not become ready")

    def stop(self):
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


# -- the floor: bare kombu request/reply ----------------------------------------------------

ECHO = """
import sys, kombu
uri = sys.argv[1]
with kombu.Connection(uri) as conn:
    queue = kombu.Queue("bench-echo", exchange=kombu.Exchange("bench", type="direct"), routing_key="echo",
                        auto_delete=True)
    producer = conn.Producer(serializer="json")
    def reply(body, message):
        producer.publish(body, routing_key=message.properties["reply_to"],
                         correlation_id=message.properties["correlation_id"], delivery_mode=1)
        message.ack()
    with conn.Consumer(queue, callbacks=[reply]):
        print("ready", flush=True)
        while True:
            conn.drain_events()
"""


class KombuFloor:
    """The floor: a bare kombu request/reply round trip to an echo consumer in another process: transient
    messages, no publisher confirms, each reply acked by the caller and each request by the server after
    its reply (as nameko does both)."""

    def __init__(self, amqp_uri: str):
        self.server = subprocess.Popen([sys.executable, "-c", ECHO, amqp_uri], stdout=subprocess.PIPE, text=True)
        assert self.server.stdout.readline().strip() == "ready"
        self.conn = kombu.Connection(amqp_uri)
        self.reply_queue = kombu.Queue(f"bench-reply-{uuid.uuid4().hex}", exclusive=True, auto_delete=True)
        self.producer = self.conn.Producer(serializer="json")
        self.exchange = kombu.Exchange("bench", type="direct")
        self.got = []
        self.consumer = self.conn.Consumer(self.reply_queue,
                                           callbacks=[lambda body, msg: (self.got.append(body), msg.ack())])
        self.consumer.consume()

    def round_trip(self):
        self.got.clear()
        self.producer.publish({"args": [], "kwargs": {}}, exchange=self.exchange, routing_key="echo",
                              reply_to=self.reply_queue.name, correlation_id=uuid.uuid4().hex,
                              declare=[self.exchange], delivery_mode=1)
        while not self.got:
            self.conn.drain_events(timeout=10)

    def close(self):
        try:
            self.consumer.cancel()
            self.conn.release()
        finally:
            self.server.terminate()
            self.server.wait(timeout=10)


def interleaved(calls: dict, n: int, burst: int = 50, warmup: int = 20) -> dict:
    """Time every call ``n`` times, in rounds of ``burst`` calls of each in turn (the order rotating from
    round to round), so that a machine that speeds up or slows down during the run (another VM on the
    host, a timer, the page cache) weighs on every row alike, the floor included: the ratios compare
    calls made in the same seconds, not in different minutes."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    samples = {key: [] for key in calls}
    keys = list(calls)
    for round_number in range(-(-n // burst)):
        shift = round_number % len(keys)
        for key in keys[shift:] + keys[:shift]:
            fn = calls[key]
            for _ in range(burst):
                start = time.perf_counter()
                fn()
                samples[key].append(time.perf_counter() - start)
    return {key: summary(values) for key, values in samples.items()}


# -- gateway throughput -----------------------------------------------------------------------

class HttpClient:
    """One keep-alive HTTP/1.1 connection (http.client): as lean a caller as the bare kombu floor's,
    where ``requests`` added about 1 ms of client-side work to every gateway round trip."""

    def __init__(self, base_url: str, headers: dict | None = None):
        import http.client
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.headers = dict(headers or {})

    def get(self, path: str) -> int:
        try:
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            response.read()
            return response.status
        except Exception:
            self.connection.close()  # reconnects on the next request
            raise

    def ok(self, path: str):
        status = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")


def throughput(url: str, headers: dict, total: int, concurrency: int) -> dict:
    pool = eventlet.GreenPool(concurrency)
    parts = urlsplit(url)
    base, path = f"{parts.scheme}://{parts.netloc}", parts.path + (f"?{parts.query}" if parts.query else "")
    idle = eventlet.queue.LightQueue()  # one request at a time per connection
    for _ in range(concurrency):
        idle.put(HttpClient(base, headers))
    latencies, errors = [], []

    def one(_i):
        client = idle.get()
        try:
            start = time.perf_counter()
            status = client.get(path)
            latencies.append(time.perf_counter() - start)
        finally:
            idle.put(client)
        if status != 200:
            errors.append(status)

    for i in range(concurrency * 3):  # warm up every connection
        one(i)
    latencies.clear()
    start = time.perf_counter()
    list(pool.imap(one, range(total)))
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} errors from {url}, e.g. {errors[:3]}")
    return {"per_s": total / elapsed, **summary(latencies)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rpc")
    parser.add_argument("--requests", type=int, default=300, help="sequential round trips per measurement")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--burst", type=int, default=50, help="calls of one row in a row before the next row's turn")
    parser.add_argument("--load", type=int, default=600, help="requests per throughput measurement")
    args = parser.parse_args(argv)

    from nameko import config as nameko_config
    from nameko.standalone.rpc import ClusterRpcClient

    from nameko.containers import ServiceContainer
    env = Environment()
    results = {}
    caller = floor = None
    echo = None
    try:
        floor = KombuFloor(env.amqp_uri)
        nameko_config.update({"AMQP_URI": env.amqp_uri, "serializer": "json"})
        caller = ServiceContainer(make_caller())
        caller.start()
        echo = ServiceContainer(make_echo())
        echo.start()
        for replicas in (1, 2):
            scaled = Scaled(env, replicas)
            try:
                with ClusterRpcClient(uri=env.amqp_uri) as rpc:
                    scaled.wait_ready(rpc)
                    api = requests.Session()
                    if replicas == 1:
                        suffix = uuid.uuid4().hex[:8]
                        admin = {"username": f"bench-{suffix}", "password": f"Een lang wachtwoord {suffix}",
                                 "name": "Bench", "email": f"bench-{suffix}@example.nl"}
                        r = api.post(scaled.url + "/api/v1/platform/firms",
                                     headers={"Authorization": f"Bearer {env.platform_token}"},
                                     json={"name": f"Bench {suffix}", "branches": ["A"], "admin": admin}, timeout=30)
                        r.raise_for_status()
                        r = api.post(scaled.url + "/api/v1/session", timeout=30,
                                     json={"username": admin["username"], "password": admin["password"]})
                        r.raise_for_status()
                        token = r.json()["token"]
                        auth = {"Authorization": f"Bearer {token}"}
                        principal = rpc.identity.authenticate(token)

                        echo_call, ping, mail, me = (worker_call(caller, name) for name in ("echo", "ping", "mail", "me"))
                        authenticate_me = worker_call(caller, "authenticate_me")
                        http = HttpClient(scaled.url)
                        signed_in = HttpClient(scaled.url, auth)
                        # every sequential row in the same rounds, the floor among them
                        results.update(interleaved({
                            "kombu": floor.round_trip,
                            "gateway_plain": lambda: http.ok("/healthz"),
                            "nameko_echo": echo_call,
                            "nameko_ping": ping,
                            "nameko_1rpc": mail,
                            "gateway_1rpc": lambda: http.ok("/dev/mail?format=json"),
                            "nameko_me": lambda: me(principal),
                            "nameko_2rpc": lambda: authenticate_me(token),
                            "gateway_2rpc": lambda: signed_in.ok("/api/v1/me"),
                        }, args.requests, args.burst))
                        echo.stop()
                        echo = None
                    results[f"load_1rpc_{replicas}"] = throughput(scaled.url + "/dev/mail?format=json", {},
                                                                  args.load, args.concurrency)
                    results[f"load_2rpc_{replicas}"] = throughput(scaled.url + "/api/v1/me", auth,
                                                                  args.load, args.concurrency)
                    results[f"direct_{replicas}"] = direct_throughput(caller, args.load, args.concurrency)
            finally:
                scaled.stop()
        results["floor_rate"] = floor_rate(floor, args.requests)
    finally:
        if echo is not None:
            echo.stop()
        if caller is not None:
            caller.stop()
        if floor is not None:
            floor.close()
        env.close()
    report(results, args)
    return 0


def floor_rate(floor: KombuFloor, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        floor.round_trip()
    return n / (time.perf_counter() - start)


def direct_throughput(caller, total: int, concurrency: int) -> dict:
    """notify.dev_mail_outbox over nameko RPC from the caller container, `concurrency` in flight."""
    mail = worker_call(caller, "mail")
    pool = eventlet.GreenPool(concurrency)
    start = time.perf_counter()
    list(pool.imap(lambda _: mail(), range(total)))
    return {"per_s": total / (time.perf_counter() - start)}


def worker_call(container, method_name):
    """Run one of the container's entrypoints in a fresh worker and wait for its result (safe to
    call from many green threads at once, unlike nameko's entrypoint_hook)."""
    from eventlet.event import Event
    from nameko.extensions import Entrypoint
    from nameko.testing.utils import get_extension
    entrypoint = get_extension(container, Entrypoint, method_name=method_name)

    def call(*args):
        done = Event()

        def handle_result(worker_ctx, result, exc_info):
            done.send((result, exc_info))
            return result, exc_info

        container.spawn_worker(entrypoint, args, {}, handle_result=handle_result)
        result, exc_info = done.wait()
        if exc_info:
            raise exc_info[1]
        return result

    return call


def report(r: dict, args):
    floor = r["kombu"]["median_ms"]
    print(f"rpc bench: {args.requests} sequential round trips each, interleaved in rounds of {args.burst} (floor included), "
          f"load {args.load} requests at concurrency {args.concurrency}; floor = bare kombu request/reply")
    print(f"{'what':58} {'median ms':>10} {'p90 ms':>8} {'x floor':>8}")
    rows = [("bare kombu request/reply (floor)", "kombu"),
            ("gateway GET /healthz (HTTP only, no RPC)", "gateway_plain"),
            ("nameko RPC to an echo service (no database), in-process", "nameko_echo"),
            ("nameko RPC identity.ping (1 RPC, SELECT 1)", "nameko_ping"),
            ("nameko RPC notify.dev_mail_outbox (1 RPC)", "nameko_1rpc"),
            ("gateway GET /dev/mail?format=json (1 RPC)", "gateway_1rpc"),
            ("nameko RPC identity.me (1 RPC)", "nameko_me"),
            ("nameko RPC authenticate + me (2 RPCs)", "nameko_2rpc"),
            ("gateway GET /api/v1/me (token cached in gateway + me)", "gateway_2rpc")]
    for label, key in rows:
        s = r[key]
        print(f"{label:58} {s['median_ms']:10.2f} {s['p90_ms']:8.2f} {s['median_ms'] / floor:8.2f}")
    hop1 = r["gateway_1rpc"]["median_ms"] - r["nameko_1rpc"]["median_ms"]
    hop2 = r["gateway_2rpc"]["median_ms"] - r["nameko_me"]["median_ms"]
    print(f"gateway hop over a direct nameko RPC: {hop1:+.2f} ms (/dev/mail vs notify RPC), "
          f"{hop2:+.2f} ms (/api/v1/me with its token cached vs identity.me RPC)")
    print(f"aim (gateway request with one RPC <= 3x bare kombu): "
          f"{r['gateway_1rpc']['median_ms'] / floor:.2f}x -> {'met' if r['gateway_1rpc']['median_ms'] <= 3 * floor else 'NOT met'}")
    print(f"{'throughput (separate processes)':58} {'1 replica':>10} {'2 replicas':>11} {'ratio':>6}")
    for label, key in (("gateway GET /dev/mail (1 RPC) req/s", "load_1rpc"),
                       ("gateway GET /api/v1/me (token cached + me) req/s", "load_2rpc"),
                       ("direct nameko RPC dev_mail_outbox calls/s", "direct")):
        one, two = r[f"{key}_1"]["per_s"], r[f"{key}_2"]["per_s"]
        print(f"{label:58} {one:10.0f} {two:11.0f} {two / one:6.2f}")
    print(f"floor rate: bare kombu sequential {r['floor_rate']:.0f} round trips/s; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures are only comparable within one run)")


if __name__ == "__main__":
    sys.exit(main())
