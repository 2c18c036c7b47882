"""identity: bulk users with activation codes and bulk PIN issue against the argon2 floor; client search.

    python -m bench identity [--users 1000] [--clients 100000] [--queries 300] [--keep]

Set-up (not timed): a throwaway PostgreSQL database and RabbitMQ vhost; identity, letters and
the gateway run in a child process, as in production. A firm is made through the real services.

Measured:
1. floor: ``--users`` argon2id hashes with identity's PIN parameters (chassis.secrets.hash_code),
   spread over OS threads the way the service does it (eventlet tpool, one per core), in this process;
2. bulk users: ``POST /api/v1/users/bulk``'s RPC for ``--users`` clients (the first user of each,
   activation code, links, events, one letters batch per branch), as a ratio of the floor;
3. PIN issue: ``POST /api/v1/tokens``'s RPC with ``confirmation: pin`` for those users (a fresh PIN
   each, peppered and argon2id-hashed, PIN letters), as a ratio of the floor;
4. search: ``--clients`` clients (bulk SQL insert), then ``GET /api/v1/clients?q=`` through the gateway
   for names, name fragments, client numbers, KvK numbers and an empty box: p50/p99, against the same
   SQL statements run directly (psycopg2) as the floor.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

WORDS = ["Bakkerij", "Installatie", "Holding", "Schilders", "Transport", "Adviesbureau", "Kapsalon", "Garage",
         "Bloemen", "Tandartspraktijk", "Loodgieter", "Café", "Architecten", "Drukkerij", "Zorg"]
SURNAMES = ["de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
            "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra",
            "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen", "van Dijk"]
FORMS = ["BV", "VOF", "Eenmanszaak", "Stichting", "NV"]


def percentile(values, q):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class Environment:
    def __init__(self, keep=False):
        self.keep = keep

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
                   AKKOORD_RPC_TIMEOUT="600")
        self.log = open(os.path.join(os.environ["AKKOORD_VAR_DIR"], "portal.log"), "w")
        code = "from chassis import runner; runner.run(['identity', 'letters', 'gateway'])"
        self.child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                                      stderr=self.log)
        self.base = f"http://{self.http}"
        self._wait_ready()
        self.client = ClusterRpcClient(uri=self.amqp)
        self.rpc = self.client.start()
        return self

    def _wait_ready(self, timeout=90):
        import requests
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child.poll() is not None:
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
        self.child.terminate()  # our own child, by its handle
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()
        dispose_engines()
        self.rabbit.delete_vhost(self.name)
        if self.keep:
            print(f"database kept: {self.name}")
            return
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def make_firm(env) -> dict:
    import requests
    suffix = uuid.uuid4().hex[:6]
    admin = {"username": f"bench-admin-{suffix}", "password": f"een lang bench wachtwoord {suffix}",
             "name": "Bench Beheerder", "email": "bench@example.nl"}
    firm = requests.post(env.base + "/api/v1/platform/firms", timeout=60,
                         headers={"Authorization": f"Bearer {os.environ['AKKOORD_PLATFORM_TOKEN']}"},
                         json={"name": f"Bench kantoor {suffix}", "multi_branch": True,
                               "branches": ["Amsterdam", "Utrecht"], "admin": admin}).json()
    assert "firm_id" in firm, firm
    for _ in range(5):  # the services may still be warming up right after start
        login = requests.post(env.base + "/api/v1/session", timeout=60,
                              json={"username": admin["username"], "password": admin["password"]}).json()
        if "token" in login:
            break
        time.sleep(2)
    else:
        raise SystemExit(f"could not log in: {login}")
    firm["token"] = login["token"]
    firm["principal"] = env.rpc.identity.authenticate(token=login["token"])
    return firm


def client_name(rng, n):
    return f"{rng.choice(WORDS)} {rng.choice(SURNAMES)} {rng.choice(FORMS)} {n}"


def wait_rendered(env, principal, batch_ids, timeout=1800):
    deadline = time.monotonic() + timeout
    for batch_id in batch_ids:
        while env.rpc.letters.batch_status(principal, batch_id)["status"] != "done":
            if time.monotonic() > deadline:
                print("  (letters still rendering; continuing)")
                return
            time.sleep(1)


# -- 1-3: bulk users and PINs against the argon2 floor -------------------------------
def floor_seconds(n) -> float:
    from identity import pins
    started = time.perf_counter()
    pins.hash_pins([pins.new_pin() for _ in range(n)])
    return time.perf_counter() - started


def bulk(env, firm, n_users):
    from identity import pins
    rng = random.Random(7)
    p = firm["principal"]
    rows = [{"number": f"U{n:06d}", "name": client_name(rng, n), "contact": f"{rng.choice(SURNAMES)}",
             "branch_id": firm["branch_ids"][n % 2], "mobile": "061" + f"{rng.randrange(10**7):07d}"}
            for n in range(n_users)]
    started = time.perf_counter()
    ids = []
    for start in range(0, n_users, 2000):
        result = env.rpc.identity.upsert_clients(p, rows[start:start + 2000], None, None)
        assert not result["errors"], result["errors"][:3]
        ids += list(result["ids"].values())
    upsert = time.perf_counter() - started
    print(f"import (upsert_clients, {n_users} rows in batches of 2000): {upsert:.1f} s", flush=True)

    floor = floor_seconds(n_users)
    print(f"floor: {n_users} argon2id hashes (t=2, m=19 MiB, p=1) over {pins.HASH_CONCURRENCY} threads: "
          f"{floor:.1f} s ({floor / n_users * 1000:.1f} ms each)", flush=True)

    started = time.perf_counter()
    created = env.rpc.identity.bulk_create_users(p, {"client_ids": ids})
    users = time.perf_counter() - started
    assert len(created["created"]) == n_users, created["skipped"][:3]
    print(f"bulk users with activation codes: {users:.1f} s = {users / floor:.2f}x floor", flush=True)
    wait_rendered(env, p, created["letter_batch_ids"])

    started = time.perf_counter()
    issued = env.rpc.identity.issue_tokens(p, {"client_ids": ids, "confirmation": "pin", "login": "password"})
    pins_seconds = time.perf_counter() - started
    assert len(issued["users"]) == n_users
    print(f"PIN issue: {pins_seconds:.1f} s = {pins_seconds / floor:.2f}x floor", flush=True)
    return {"upsert": upsert, "floor": floor, "users": users, "pins": pins_seconds}


# -- 4: search ----------------------------------------------------------------------
def seed_clients(env, firm, n):
    import sqlalchemy as sa

    from chassis.db import get_engine
    from identity.clients import fold
    from identity.models import Client
    import datetime as dt
    rng = random.Random(11)
    moment = dt.datetime.utcnow()
    engine = get_engine(env.url)
    started = time.perf_counter()
    batch = []
    with engine.begin() as conn:
        for i in range(n):
            name = client_name(rng, i)
            number = f"{100000 + i}"
            kvk = f"{rng.randrange(10**8):08d}"
            batch.append({"firm_id": firm["firm_id"], "branch_id": firm["branch_ids"][i % 2], "number": number,
                          "name": name, "kvk": kvk, "city": "Utrecht", "search_text": f"{fold(name)} {number} {kvk}",
                          "created_at": moment, "updated_at": moment})
            if len(batch) == 5000:
                conn.execute(sa.insert(Client.__table__), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(Client.__table__), batch)
    seeded = time.perf_counter() - started
    # What autovacuum does soon after a bulk load: statistics, visibility map, and the trigram
    # index's pending list merged (GIN fast-update keeps fresh entries unsorted until then).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE identity.clients"))
    return seeded


def search_queries(n, n_clients):
    rng = random.Random(3)
    kinds = []
    for i in range(n):
        kind = ("name word", "surname", "name fragment", "client number", "kvk", "empty", "word + branch")[i % 7]
        if kind == "name word":
            q = rng.choice(WORDS).lower()
        elif kind == "surname":
            q = rng.choice(SURNAMES)
        elif kind == "name fragment":
            q = rng.choice(SURNAMES).split()[-1][:4]
        elif kind == "client number":
            q = f"{100000 + rng.randrange(n_clients)}"
        elif kind == "kvk":
            q = None  # filled from the table
        else:
            q = ""
        kinds.append((kind, q))
    return kinds


def run_search(env, firm, n_queries, n_clients):
    import psycopg2
    import requests
    from identity.clients import fold
    conn = psycopg2.connect(env.url.replace("postgresql+psycopg2", "postgresql"))
    cur = conn.cursor()
    cur.execute("SELECT kvk FROM identity.clients ORDER BY random() LIMIT %s", (n_queries,))
    kvks = [r[0] for r in cur.fetchall()]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {firm['token']}"
    # The RPC alone, as the gateway makes it: from a nameko container with the same ServiceRpc
    # (nameko's standalone client reconnects to the broker for every reply: no fair comparison).
    from nameko import config as nameko_config
    from nameko.containers import ServiceContainer
    from nameko.rpc import rpc
    from bench.rpc import worker_call
    from chassis.rpc_client import ServiceRpc

    class SearchCaller:
        name = "bench_search_caller"
        identity = ServiceRpc("identity")

        @rpc
        def search(self, principal, query):
            return self.identity.search_clients(principal, query)

    nameko_config.update({"AMQP_URI": env.amqp, "serializer": "json"})
    caller = ServiceContainer(SearchCaller)
    caller.start()
    search_rpc = worker_call(caller, "search")
    timings = {"gateway": [], "rpc": [], "floor": []}
    per_kind = {}
    for i, (kind, q) in enumerate(search_queries(n_queries, n_clients)):
        if kind == "kvk":
            q = kvks[i % len(kvks)]
        params = {"q": q, "per_page": 50}
        if kind == "word + branch":
            params["branch_id"] = firm["branch_ids"][1]
        started = time.perf_counter()
        answer = session.get(env.base + "/api/v1/clients", params=params, timeout=60)
        took = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, answer.text
        timings["gateway"].append(took)
        per_kind.setdefault(kind, []).append(took)
        started = time.perf_counter()
        search_rpc(firm["principal"], {k: v for k, v in params.items() if v is not None})
        timings["rpc"].append((time.perf_counter() - started) * 1000)
        # floor: the same two statements (count + page) straight on the database
        where = "firm_id = %s" + (" AND branch_id = %s" if "branch_id" in params else "") + \
                (" AND search_text LIKE %s" if q else "")
        args = [firm["firm_id"]] + ([params["branch_id"]] if "branch_id" in params else []) + \
               ([f"%{fold(q)}%"] if q else [])
        started = time.perf_counter()
        if q:  # the statement the service runs: the matches once (id, name), their count and the page
            cur.execute(f"WITH m AS MATERIALIZED (SELECT id, name FROM identity.clients WHERE {where}) "
                        "SELECT c.*, (SELECT count(*) FROM m) FROM (SELECT id FROM m ORDER BY name, id LIMIT 50) p "
                        "JOIN identity.clients c ON c.id = p.id ORDER BY c.name, c.id", args)
            cur.fetchall()
        else:
            cur.execute(f"SELECT * FROM identity.clients WHERE {where} ORDER BY name, id LIMIT 50", args)
            cur.fetchall()
            cur.execute(f"SELECT count(*) FROM identity.clients WHERE {where}", args)
            cur.fetchone()
        timings["floor"].append((time.perf_counter() - started) * 1000)
    conn.close()
    caller.stop()
    return timings, per_kind


def main(argv=None):
    import eventlet
    eventlet.monkey_patch()
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench identity", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="users and PINs in bulk (issue: 10000)")
    parser.add_argument("--clients", type=int, default=100_000, help="clients to search over")
    parser.add_argument("--queries", type=int, default=350)
    parser.add_argument("--skip-bulk", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    os.environ.setdefault("AKKOORD_PLATFORM_TOKEN", "bench-" + uuid.uuid4().hex)
    os.environ.setdefault("AKKOORD_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ.setdefault("AKKOORD_VAR_DIR", tempfile.mkdtemp(prefix="akkoord-bench-"))
    from nameko import config as nameko_config
    nameko_config.update({"serializer": "json"})
    import signal
    from identity import pins

    def stop(signum, _frame):  # a terminated bench still removes its database, vhost and child process
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, stop)

    print(f"identity bench: {args.users} users/PINs, search over {args.clients} clients; "
          f"{os.cpu_count()} cores, hashing concurrency {pins.HASH_CONCURRENCY}", flush=True)
    with Environment(keep=args.keep) as env:
        firm = make_firm(env)
        if not args.skip_bulk:
            bulk(env, firm, args.users)
        if not args.skip_search:
            seeded = seed_clients(env, firm, args.clients)
            print(f"seeded {args.clients} clients in {seeded:.1f} s")
            timings, per_kind = run_search(env, firm, args.queries, args.clients)
            g, f, r = timings["gateway"], timings["floor"], timings["rpc"]
            print(f"search through the gateway: p50 {statistics.median(g):.1f} ms, p99 {percentile(g, 99):.1f} ms "
                  f"(n={len(g)}); floor (same SQL direct): p50 {statistics.median(f):.1f} ms, "
                  f"p99 {percentile(f, 99):.1f} ms; ratio p50 {statistics.median(g) / statistics.median(f):.1f}x")
            print(f"search RPC alone (no HTTP, no token check): p50 {statistics.median(r):.1f} ms, "
                  f"p99 {percentile(r, 99):.1f} ms; ratio p50 {statistics.median(r) / statistics.median(f):.1f}x")
            for kind, values in per_kind.items():
                print(f"  {kind:14s} p50 {statistics.median(values):6.1f} ms  p99 {percentile(values, 99):6.1f} ms")
    return 0
