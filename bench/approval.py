"""Approval screen under load: through the gateway against the same query run directly.

    python -m bench approval [--clients 50000] [--users 200000] [--requests 500000]
                             [--rate 50] [--seconds 20] [--approval-replicas 1] [--keep]

Set-up (not timed): a throwaway PostgreSQL database and RabbitMQ vhost; the portal runs
in three child processes (identity+letters+notify, approval, gateway), as separate pods
would, so neither the services nor the load generator share one eventlet hub. A firm with 10 branches is
made through the real services, with a client user linked to 20 clients (activated
through its letter) and a staff member of one branch. approval's tables are then filled
in bulk with SQL: ``--requests`` requests (10 per client, a fifth still pending) over
``--clients`` clients and ``--users`` client users (2 of them awaited per request); the
bench user is one of those awaited at its 20 clients.

Measured, for the client user's screen and the branch staff member's screen
(``GET /api/v1/approvals?status=pending``):
1. floor: the page query alone, run directly on the database (psycopg2, no ORM);
2. domain: approval's ``requests.screen`` in this process on its own session (every query
   of the screen plus building the answer), i.e. the service's work without RPC;
3. gateway: HTTP at a fixed arrival rate (open loop, ``--rate`` per second for
   ``--seconds``): bearer token (the gateway's principal cache, identity when it expires), RPC
   to approval, JSON back; with the CPU each process, RabbitMQ and PostgreSQL spent per request.
4. gateway one at a time: the same request sequentially (service time without queueing).
Printed: p50/p99 of each, the gateway's ratio against the floor, and the gateway's share
(gateway p50 minus domain p50, as a part of gateway p50, one at a time).
"""
import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
import uuid

BRANCHES = 10
CLIENT_LINKS = 20
REQUESTS_PER_CLIENT = 10


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summary(values_ms):
    return {"n": len(values_ms), "p50": statistics.median(values_ms), "p99": percentile(values_ms, 99)}


class Environment:
    """Database, vhost and the portal in a child process."""

    def __init__(self, keep=False, approval_replicas=1):
        self.keep = keep
        self.approval_replicas = approval_replicas

    def __enter__(self):
        import sqlalchemy as sa
        from nameko.standalone.rpc import ClusterRpcClient
        from nameko.testing import rabbit
        from nameko.testing.utils import find_free_port

        from chassis.db import normalise_url
        from chassis.migrations import upgrade_all

        self.name = f"akkoord_bench_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(normalise_url("postgresql://127.0.0.1:5432/test"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = f"postgresql+psycopg2://127.0.0.1:5432/{self.name}"
        upgrade_all(self.url)
        self.rabbit = rabbit.Client("http://guest:guest@127.0.0.1:15672")
        self.rabbit.create_vhost(self.name)
        self.rabbit.set_vhost_permissions(self.name, "guest", ".*", ".*", ".*")
        self.amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{self.name}"
        self.http = f"127.0.0.1:{find_free_port()}"
        env = dict(os.environ, AMQP_URI=self.amqp, AKKOORD_DATABASE_URL=self.url, AKKOORD_HTTP=self.http,
                   AKKOORD_PLATFORM_TOKEN=os.environ["AKKOORD_PLATFORM_TOKEN"],
                   AKKOORD_SECRET_KEY=os.environ["AKKOORD_SECRET_KEY"], AKKOORD_SMS_BACKEND="outbox",
                   AKKOORD_VAR_DIR=os.environ["AKKOORD_VAR_DIR"])
        # One process per group, as separate pods would be: the portal's work spreads over the cores.
        log = open(os.path.join(os.environ["AKKOORD_VAR_DIR"], "portal.log"), "w")
        self.groups = (["identity", "letters", "notify"],) + (["approval"],) * self.approval_replicas + (["gateway"],)
        self.children = [subprocess.Popen([sys.executable, "-c", f"from chassis import runner; runner.run({group!r})"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=log)
                         for group in self.groups]
        self.base = f"http://{self.http}"
        self._wait_ready()
        self.client = ClusterRpcClient(uri=self.amqp)
        self.rpc = self.client.start()
        self._wait_services()
        return self

    def _wait_services(self, timeout=60):
        import eventlet
        deadline = time.monotonic() + timeout
        for name in ("identity", "approval", "letters", "notify"):
            while True:
                try:
                    with eventlet.Timeout(2):
                        self.rpc[name].ping()
                    break
                except BaseException:  # noqa: BLE001 - not up yet
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{name} did not start")
                    time.sleep(0.3)

    def _wait_ready(self, timeout=60):
        import requests
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in self.children):
                raise SystemExit("the portal process stopped; see portal.log in AKKOORD_VAR_DIR")
            try:
                if requests.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise SystemExit("the portal did not become ready")

    def __exit__(self, *exc):
        import sqlalchemy as sa
        from chassis.db import dispose_engines
        self.client.stop()
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        dispose_engines()
        self.rabbit.delete_vhost(self.name)
        if self.keep:
            print(f"database kept: {self.name}")
            return
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


# -- people, through the real services ---------------------------------------------

def _login(base, username, password) -> str:
    import requests
    response = requests.post(base + "/api/v1/session", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    return response.json()["token"]


def make_people(env) -> dict:
    import base64
    import io
    import re

    import requests
    from pypdf import PdfReader

    suffix = uuid.uuid4().hex[:6]
    admin = {"username": f"bench-admin-{suffix}", "password": f"een lang bench wachtwoord {suffix}",
             "name": "Bench Beheerder", "email": "bench@example.nl"}
    platform = {"Authorization": f"Bearer {os.environ['AKKOORD_PLATFORM_TOKEN']}"}
    firm = requests.post(env.base + "/api/v1/platform/firms", headers=platform, timeout=60, json={
        "name": f"Bench kantoor {suffix}", "multi_branch": True,
        "branches": [f"Vestiging {n}" for n in range(BRANCHES)], "admin": admin}).json()
    admin_token = _login(env.base, admin["username"], admin["password"])
    staff_principal = env.rpc.identity.authenticate(token=admin_token)
    branch0 = firm["branch_ids"][0]
    clients = [env.rpc.identity.create_client(principal=staff_principal, payload={
        "number": f"B{n:05d}", "name": f"Bench cliënt {n} BV", "branch_id": branch0})["id"] for n in range(CLIENT_LINKS)]
    created = env.rpc.identity.create_client_user(principal=staff_principal, client_id=clients[0], payload={
        "name": "Bench Gebruiker", "email": "gebruiker@example.nl"})
    for client_id in clients[1:]:
        env.rpc.identity.create_client_user(principal=staff_principal, client_id=client_id,
                                            payload={"user_id": created["id"]})
    deadline = time.monotonic() + 120
    while env.rpc.letters.batch_status(principal=staff_principal,
                                       batch_id=created["letter_batch_id"])["status"] != "done":
        if time.monotonic() > deadline:
            raise SystemExit("the activation letter was not rendered")
        time.sleep(0.3)
    pdf = env.rpc.letters.batch_pdf(principal=staff_principal, batch_id=created["letter_batch_id"])
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(base64.b64decode(pdf["pdf_base64"]))).pages)
    code = re.search(r"Activeringscode:\s*(\S+)", text).group(1)
    password = f"bench gebruiker wachtwoord {suffix}"
    env.rpc.identity.activate(payload={"username": created["username"], "activation_code": code,
                                       "password": password})
    client_token = _login(env.base, created["username"], password)

    group = env.rpc.identity.create_group(principal=staff_principal, payload={
        "name": "Bench medewerkers", "kind": "staff", "rights": ["approval", "documents"]})
    staff = env.rpc.identity.create_staff(principal=staff_principal, payload={
        "username": f"bench-staff-{suffix}", "name": "Bench Medewerker", "branch_id": branch0,
        "group_id": group["id"]})
    env.rpc.identity.activate(payload={"username": f"bench-staff-{suffix}",
                                       "activation_code": staff["activation_code"], "password": password})
    staff_token = _login(env.base, f"bench-staff-{suffix}", password)
    return {"firm_id": firm["firm_id"], "branch_ids": firm["branch_ids"], "clients": clients,
            "client_user_id": created["id"], "client_token": client_token, "staff_token": staff_token}


# -- bulk data in approval's tables ---------------------------------------------------

def _tiny_pdf() -> bytes:
    import io

    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "Bench jaarrekening")
    pdf.save()
    return buffer.getvalue()


def seed_approval(env, people, n_clients, n_users, n_requests) -> dict:
    import hashlib

    import sqlalchemy as sa

    from chassis.db import get_engine

    engine = get_engine(env.url)
    pdf = _tiny_pdf()
    sha = hashlib.sha256(pdf).hexdigest()
    users_per_client = max(2, n_users // n_clients)
    real = people["clients"]
    branches = people["branch_ids"]
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        document_id = conn.execute(sa.text(
            "INSERT INTO approval.documents (firm_id, branch_id, client_id, document_type, title, filename, size, "
            "pages, sha256, content, uploaded_by, uploaded_at) VALUES (:f, :b, :c, 'annual_accounts', "
            "'Bench jaarrekening', 'bench.pdf', :size, 1, :sha, :content, NULL, now() at time zone 'utc') "
            "RETURNING id"), {"f": people["firm_id"], "b": branches[0], "c": real[0], "size": len(pdf), "sha": sha,
                              "content": pdf}).scalar_one()
        conn.execute(sa.text(
            "CREATE TEMP TABLE bench_clients ON COMMIT DROP AS "
            "SELECT g AS idx, CASE WHEN g < :nreal THEN (:real)[g + 1] ELSE 10000000 + g END AS client_id, "
            "CASE WHEN g < :nreal THEN (:branches)[1] ELSE (:branches)[(g % :nb) + 1] END AS branch_id "
            "FROM generate_series(0, :n - 1) g"),
            {"nreal": len(real), "real": real, "branches": branches, "nb": len(branches), "n": n_clients})
        conn.execute(sa.text("CREATE INDEX ON bench_clients (idx)"))
        conn.execute(sa.text("ANALYZE bench_clients"))
        conn.execute(sa.text(
            "INSERT INTO approval.requests (id, firm_id, branch_id, client_id, client_number, client_name, "
            "document_id, document_type, title, sha256, status, rule, rights_snapshot, rights_changed, opened_by, "
            "opened_at, closed_at, evidence_count) "
            "SELECT i + 1, :f, c.branch_id, c.client_id, 'N' || c.idx, 'Cliënt ' || c.idx || ' BV', :doc, "
            "(ARRAY['annual_accounts','income_tax','corporate_tax','vat','ec_sales_list','payroll_tax'])[(i / :nc) % 6 + 1], "
            "'Stuk ' || i, :sha, "
            "CASE (i / :nc) % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'declined' WHEN 2 THEN 'withdrawn' "
            "ELSE 'approved' END, 'any_may', '[]', false, NULL, "
            "(now() at time zone 'utc') - make_interval(secs => (:n - i) * 60), "
            "CASE WHEN (i / :nc) % 5 = 0 THEN NULL ELSE (now() at time zone 'utc') - make_interval(secs => (:n - i) * 30) END, "
            "0 FROM generate_series(0, :n - 1) i JOIN bench_clients c ON c.idx = i % :nc"),
            {"f": people["firm_id"], "doc": document_id, "sha": sha, "n": n_requests, "nc": n_clients})
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('approval.requests', 'id'), :n)"),
                     {"n": n_requests})
        conn.execute(sa.text(
            "INSERT INTO approval.participants (request_id, user_id, client_id, name, role, confirmation, decision, "
            "decided_at, method, open, opened_at) "
            "SELECT r.id, CASE WHEN k = 0 AND c.idx < :nreal THEN :me ELSE 20000000 + c.idx * :upc + ((r.id - 1) / :nc + k) % :upc END, "
            "r.client_id, 'Gebruiker ' || k, 'may', 'pin', "
            "CASE WHEN k = 0 AND r.status = 'approved' THEN 'approved' WHEN k = 0 AND r.status = 'declined' "
            "THEN 'declined' END, r.closed_at, CASE WHEN k = 0 AND r.status IN ('approved', 'declined') "
            "THEN 'pin' END, r.status = 'pending', r.opened_at "
            "FROM approval.requests r JOIN bench_clients c ON c.client_id = r.client_id "
            "CROSS JOIN generate_series(0, 1) k"),
            {"nreal": len(real), "me": people["client_user_id"], "upc": users_per_client, "nc": n_clients})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # As autovacuum leaves a settled table: statistics and a visibility map, so counts are index-only.
        # A VACUUM that overlaps any other open snapshot cannot mark the fresh pages all-visible; repeat
        # until it could (autovacuum would simply come back later).
        for _ in range(10):
            conn.execute(sa.text("VACUUM ANALYZE approval.requests"))
            conn.execute(sa.text("VACUUM ANALYZE approval.participants"))
            settled = conn.execute(sa.text(
                "SELECT bool_and(relallvisible >= relpages * 0.99) FROM pg_class "
                "WHERE oid IN ('approval.requests'::regclass, 'approval.participants'::regclass)")).scalar()
            if settled:
                break
            time.sleep(1)
        counts = conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM approval.requests), (SELECT count(*) FROM approval.participants), "
            "(SELECT count(DISTINCT client_id) FROM approval.requests), "
            "(SELECT count(DISTINCT user_id) FROM approval.participants)")).one()
    return {"seconds": time.perf_counter() - started, "requests": counts[0], "participants": counts[1],
            "clients": counts[2], "users": counts[3]}


# -- measuring ------------------------------------------------------------------------

def principal_of(env, token) -> dict:
    return env.rpc.identity.authenticate(token=token)


def direct(env, principal: dict, rounds: int):
    """floor: the page query alone (SQL as approval builds it); domain: requests.screen in full."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.orm import Session

    from approval import requests as approval_requests
    from approval.models import Participant, Request
    from chassis.db import get_engine
    from chassis.principal import Principal

    engine = get_engine(env.url)
    p = Principal.load(principal)
    query = {"status": "pending", "page": 1, "per_page": 50, "client_id": None}
    if p.is_client:
        page = sa.select(Request).join(Participant, Participant.request_id == Request.id).where(
            Participant.user_id == p.user_id, Participant.client_id.in_(p.client_ids), Request.firm_id == p.firm_id,
            Participant.open).order_by(Participant.opened_at.desc(), Participant.request_id.desc()).limit(50)
    else:
        page = sa.select(Request).where(Request.firm_id == p.firm_id, Request.branch_id == p.branch_id,
                                        Request.status == "pending").order_by(
            Request.opened_at.desc(), Request.id.desc()).limit(50)
    sql = str(page.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    raw = engine.raw_connection()
    floor, domain = [], []
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        for _ in range(rounds):
            started = time.perf_counter()
            cursor.execute(sql)
            rows = cursor.fetchall()
            floor.append((time.perf_counter() - started) * 1000)
        raw.rollback()
    finally:
        raw.close()
    with Session(engine) as session:
        for _ in range(rounds):
            started = time.perf_counter()
            result = approval_requests.screen(session, p, query)
            domain.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return summary(floor), summary(domain), len(rows), result["total"], plan


class ScreenClient:
    """One keep-alive HTTP/1.1 connection asking for the approval screen (http.client: the load
    generator shares the 2 cores with the portal, and ``requests`` spent ~3.5 ms CPU a request)."""

    def __init__(self, env, token, path="/api/v1/approvals?status=pending"):
        import http.client
        host, port = env.http.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.path = path

    def get(self) -> tuple[int, bytes]:
        try:
            self.connection.request("GET", self.path, headers=self.headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except Exception:
            self.connection.close()  # reconnects on the next request
            raise


def one_at_a_time(env, token, n=100):
    """Service time without queueing: the next request leaves when the previous answered."""
    client = ScreenClient(env, token)
    for _ in range(5):
        client.get()
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        status, _body = client.get()
        if status == 200:
            latencies.append((time.perf_counter() - started) * 1000)
    return summary(latencies)


def rpc_parts(env, token, principal, n=100):
    """The two RPCs the gateway makes per request, timed one at a time from here."""
    auth, screen = [], []
    for _ in range(n):
        started = time.perf_counter()
        env.rpc.identity.authenticate(token=token)
        auth.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        env.rpc.approval.list_requests(principal=principal, query={"status": "pending"})
        screen.append((time.perf_counter() - started) * 1000)
    return summary(auth), summary(screen)


def cpu_snapshot(env) -> dict:
    """CPU seconds used so far by each part of the portal, RabbitMQ, PostgreSQL and this process
    (Linux /proc; loopback-only machine, so the broker and the database are ours to count)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def of(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            return 0.0

    def by_name(name):
        # per pid, so that a backend which ends between two snapshots does not make the sum go back
        found = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/comm") as f:
                        if f.read().strip() == name:
                            found[entry] = of(entry)
                except OSError:
                    pass
        return found

    parts = {}
    for n, (group, child) in enumerate(zip(env.groups, env.children)):
        label = ", ".join(group)
        parts[label if label not in parts else f"{label} #{n}"] = of(child.pid)
    parts["RabbitMQ"] = by_name("beam.smp")
    parts["PostgreSQL"] = by_name("postgres")
    parts["load generator (this process)"] = of(os.getpid())
    return parts


def cpu_per_request(before: dict, after: dict, requests: int) -> str:
    def spent(key):
        if isinstance(after[key], dict):  # per pid; new pids count whole, ended ones are not seen
            return sum(cpu - before[key].get(pid, 0.0) for pid, cpu in after[key].items())
        return after[key] - before[key]
    used = {k: spent(k) * 1000 / max(requests, 1) for k in before}
    total = sum(used.values())
    return ", ".join(f"{k} {v:.1f}" for k, v in used.items()) + f"; total {total:.1f} ms CPU a request"


def through_gateway(env, token, rate, seconds):
    """Open loop: one request every 1/rate seconds, whatever the answers do."""
    import eventlet

    pool = eventlet.queue.LightQueue()
    for _ in range(64):
        pool.put(ScreenClient(env, token))
    latencies, errors = [], []

    def one():
        client = pool.get()
        try:
            started = time.perf_counter()
            status, _body = client.get()
            elapsed = (time.perf_counter() - started) * 1000
            if status == 200:
                latencies.append(elapsed)
            else:
                errors.append(status)
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            errors.append(type(exc).__name__)
        finally:
            pool.put(client)

    for _ in range(20):  # warm up connections and caches
        one()
    latencies.clear()
    # The seeding left this process with a large heap; a full collection in the middle of the run
    # would stall the timer of every request in flight. Nothing measured lives in this process.
    gc.collect()
    gc.freeze()
    threads = []
    interval = 1.0 / rate
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            eventlet.sleep(delay)
        threads.append(eventlet.spawn(one))
    for t in threads:
        t.wait()
    achieved = total / (time.perf_counter() - start)
    return summary(latencies), errors, achieved


def main(argv=None):
    import eventlet
    eventlet.monkey_patch()
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench approval", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=500_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=300, help="direct query repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--approval-replicas", type=int, default=1,
                        help="approval processes (replicas competing on its queue), as an HPA would add")
    args = parser.parse_args(argv)
    if args.clients < CLIENT_LINKS * 2 or args.requests < args.clients:
        parser.error("need at least 40 clients and one request per client")

    os.environ.setdefault("AKKOORD_PLATFORM_TOKEN", "bench-" + uuid.uuid4().hex)
    os.environ.setdefault("AKKOORD_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ.setdefault("AKKOORD_VAR_DIR", tempfile.mkdtemp(prefix="akkoord-bench-"))
    from nameko import config as nameko_config
    nameko_config.update({"serializer": "json"})

    print(f"approval screen bench: {args.clients} clients, {args.users} users, {args.requests} requests; "
          f"{args.rate:g}/s for {args.seconds:g} s per screen; {args.approval_replicas} approval replica(s)")
    with Environment(keep=args.keep, approval_replicas=args.approval_replicas) as env:
        people = make_people(env)
        seeded = seed_approval(env, people, args.clients, args.users, args.requests)
        print(f"seeded in {seeded['seconds']:.1f} s: {seeded['requests']} requests, {seeded['participants']} "
              f"awaited/eligible rows, {seeded['clients']} clients, {seeded['users']} users")
        rows = []
        for label, token in (("client user, 20 clients", people["client_token"]),
                             ("branch staff", people["staff_token"])):
            principal = principal_of(env, token)
            floor, domain, page_rows, total, plan = direct(env, principal, args.rounds)
            sequential = one_at_a_time(env, token)
            auth, screen_rpc = rpc_parts(env, token, principal)
            print(f"one at a time: identity.authenticate RPC p50 {auth['p50']:.1f} ms (p99 {auth['p99']:.1f}), "
                  f"approval.list_requests RPC p50 {screen_rpc['p50']:.1f} ms (p99 {screen_rpc['p99']:.1f}), "
                  f"HTTP through the gateway p50 {sequential['p50']:.1f} ms (p99 {sequential['p99']:.1f})")
            cpu_before = cpu_snapshot(env)
            gateway, errors, achieved = through_gateway(env, token, args.rate, args.seconds)
            print(f"CPU per request at {args.rate:g}/s (ms): "
                  f"{cpu_per_request(cpu_before, cpu_snapshot(env), int(args.rate * args.seconds) + 20)}")
            rows.append((label, floor, domain, sequential, gateway, errors, achieved, page_rows, total))
            print(f"\n== {label}: {total} pending, page of {page_rows}")
            print("plan of the page query:\n  " + plan.replace("\n", "\n  "))
        print("\n| screen | pending | floor: SQL p50 / p99 (ms) | domain p50 / p99 (ms) | gateway one at a time "
              "p50 / p99 (ms) | gateway at rate p50 / p99 (ms) | gateway/floor p50 (one at a time) "
              "| gateway share of p50 (one at a time) | rate achieved | errors |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for label, floor, domain, seq, gateway, errors, achieved, page_rows, total in rows:
            share = (seq["p50"] - domain["p50"]) / seq["p50"] if seq["n"] else float("nan")
            print(f"| {label} | {total} | {floor['p50']:.2f} / {floor['p99']:.2f} | {domain['p50']:.2f} / "
                  f"{domain['p99']:.2f} | {seq['p50']:.1f} / {seq['p99']:.1f} | {gateway['p50']:.1f} / "
                  f"{gateway['p99']:.1f} | {seq['p50'] / floor['p50']:.1f}x | {share:.0%} | {achieved:.1f}/s | "
                  f"{len(errors)} |")
        ok = all(g["p50"] < 30 and g["p99"] < 100 and not e for _, _, _, _, g, e, _, _, _ in rows)
        print(f"\ntarget (p50 < 30 ms, p99 < 100 ms, no errors): {'met' if ok else 'NOT met'}")
    return 0
