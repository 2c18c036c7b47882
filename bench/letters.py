"""Letters: a batch of PIN letters against a bare reportlab canvas drawing the same text.

    python -m bench letters [--letters 2000] [--memory 1000,4000] [--no-service]

1. floor: a bare reportlab Canvas draws the same strings of every letter (laid out
   beforehand, so the floor does no layout at all), one page each, saved at the end;
2. renderer: letters.layout + letters.rendering exactly as the service renders
   (layout, secrets, postcode order already done), streamed through the encrypted
   chunk sink (chunks discarded);
3. service: the real letters service (nameko container on a throwaway RabbitMQ vhost
   and PostgreSQL database): create_batch over RPC until the batch is done, PDF
   encrypted in the database;
4. memory: peak Python memory (tracemalloc) while rendering N letters, for the
   renderer (fresh process per size) and the floor, and for the service (traced
   from the moment the batch starts rendering until it is done).
Ratios are against the floor measured in the same run.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc


def make_letters(n: int) -> list[dict]:
    import random
    rnd = random.Random(42)
    streets = ["Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenweg", "Burgemeester de Withstraat"]
    cities = ["Amsterdam", "Utrecht", "Den Haag", "Rotterdam", "Groningen", "Zwolle"]
    return [{"recipient_name": f"Persoon {i} van den Berg", "client_name": f"Cliënt {i} Holding B.V.",
             "street": rnd.choice(streets), "house_number": str(rnd.randint(1, 300)),
             "postcode": f"{rnd.randint(1000, 9999)} {rnd.choice('ABCDEFGH')}{rnd.choice('KLMNPRST')}",
             "city": rnd.choice(cities), "country": "", "username": f"gebruiker{i:05d}",
             "secret": f"{rnd.randint(0, 999999):06d}"} for i in range(n)]


LAYOUT = {"id": 1, "firm_id": 1, "name": "Utrecht", "display_name": "Van Dijk & Partners Accountants",
          "primary_color": "#0b5d3b", "secondary_color": "#eaf4ee", "street": "Keizersgracht",
          "house_number": "123", "postcode": "1015 CJ", "city": "Amsterdam", "phone": "020 123 45 67",
          "email": "info@vandijk.nl", "letterhead": "Van Dijk & Partners Accountants B.V. - KvK 12345678"}


# -- floor ---------------------------------------------------------------------

def floor_lines(letters: list[dict]) -> list[list[tuple]]:
    """Every string the letter shows, with font and size, laid out beforehand (not timed)."""
    from letters import layout as L
    b = L.Branding(LAYOUT)
    pages = []
    for letter in letters:
        lines = [(L.BOLD, 18, b.name), (L.BOLD, 8.5, b.name)] + [(L.FONT, 8.5, t) for t in
                                                                 b.address_lines + b.contact_lines]
        lines += [(L.FONT, 6.5, b.return_address), (L.FONT, 7.5, "Datum"), (L.FONT, 7.5, "Ons kenmerk"),
                  (L.FONT, 7.5, "Betreft"), (L.FONT, 9.5, "28 november 2026"), (L.FONT, 9.5, L.SUBJECTS["pin"]),
                  (L.FONT, 7, b.letterhead), (L.FONT, 9.5, "B1-1")]
        lines += [(L.FONT, 10, t) for t in L.address_lines(letter)]
        body = [f"Geachte {letter['recipient_name']},"] + L.intro("pin", b.name, letter["client_name"],
                                                                  "het cliëntportaal")
        for paragraph in body:
            lines += [(L.FONT, 10, t) for t in L.wrap(paragraph, L.FONT, 10, L.TEXT_W)]
        lines += [(L.FONT, 12, f"Gebruikersnaam: {letter['username']}"), (L.FONT, 12, f"PIN-code: {letter['secret']}")]
        for heading, items in L.steps("pin", "het cliëntportaal"):
            lines.append((L.BOLD, 10, heading))
            for item in items:
                lines += [(L.FONT, 10, t) for t in L.wrap(item, L.FONT, 10, L.TEXT_W - 17)]
        lines += [(L.FONT, 10, t) for t in L.wrap(L.warning("pin"), L.FONT, 10, L.TEXT_W)]
        lines += [(L.FONT, 10, "Met vriendelijke groet,"), (L.BOLD, 10, b.name)]
        pages.append(lines)
    return pages


def run_floor(pages) -> tuple[float, float, int]:
    import io
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas
    started, cpu = time.perf_counter(), time.process_time()
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4)
    for lines in pages:
        y = 800
        for font, size, text in lines:
            c.setFont(font, size)
            c.drawString(62, y, text)
            y -= size * 1.4
        c.showPage()
    c.save()
    return time.perf_counter() - started, time.process_time() - cpu, len(out.getvalue())


# -- renderer ------------------------------------------------------------------

def run_renderer(letters) -> tuple[float, float, int]:
    from letters.layout import LetterPainter, mailing_key
    from letters.rendering import StreamingPdf
    from letters.storage import EncryptedChunkSink
    ordered = [letters[i] for i in sorted(range(len(letters)), key=lambda i: mailing_key(letters[i], i))]
    size = [0]
    started, cpu = time.perf_counter(), time.process_time()
    sink = EncryptedChunkSink(1, lambda seq, data: size.__setitem__(0, size[0] + len(data)))
    pdf = StreamingPdf(sink, title="PIN-brieven")
    painter = LetterPainter(pdf, "pin", LAYOUT, 1)
    for page, letter in enumerate(ordered, 1):
        painter.draw(letter, page)
        pdf.end_page()
    pdf.close()
    sink.close()
    return time.perf_counter() - started, time.process_time() - cpu, sink.size


def memory_child(kind: str, n: int) -> dict:
    """Run in a fresh process: peak traced memory of rendering n letters (letters made before tracing)."""
    batch = make_letters(n)
    pages = floor_lines(batch) if kind == "floor" else None
    import reportlab.pdfgen.canvas  # noqa: F401  (imports are not what we measure)
    import importlib
    for module in ("letters.layout", "letters.rendering", "letters.storage", "PIL.Image"):
        importlib.import_module(module)
    from chassis import crypto
    crypto.encrypt(b"warm up", "bench")
    rss_before = _vm("VmRSS")
    tracemalloc.start()
    if kind == "floor":
        run_floor(pages)
    else:
        run_renderer(batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"kind": kind, "letters": n, "peak_mb": peak / 2**20,
            "maxrss_mb": _vm("VmHWM"), "rss_before_mb": rss_before}


def _vm(field: str) -> float:
    """MiB of this process from /proc (VmHWM: peak resident set, reset at exec unlike ru_maxrss)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_in_child(kind: str, n: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench", "letters", "--child", kind, str(n)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the service ----------------------------------------------------------------

class ServiceBench:
    """The real letters service in this process, on a throwaway vhost and database."""

    def __enter__(self):
        import eventlet
        eventlet.monkey_patch()
        import uuid
        import sqlalchemy as sa
        from nameko import config as nameko_config
        from nameko.containers import ServiceContainer
        from nameko.standalone.rpc import ClusterRpcClient
        from nameko.testing import rabbit

        from chassis.db import normalise_url
        from chassis.migrations import upgrade_all
        from identity.service import IdentityService
        from letters.service import LettersService

        os.environ.setdefault("AKKOORD_SECRET_KEY", "bench-" + uuid.uuid4().hex)
        self.name = f"akkoord_bench_letters_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(normalise_url("postgresql://127.0.0.1:5432/test"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = f"postgresql+psycopg2://127.0.0.1:5432/{self.name}"
        upgrade_all(self.url)
        self.rabbit = rabbit.Client("http://guest:guest@127.0.0.1:15672")
        self.rabbit.create_vhost(self.name)
        self.rabbit.set_vhost_permissions(self.name, "guest", ".*", ".*", ".*")
        amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{self.name}"
        self._patch = nameko_config.patch({"AMQP_URI": amqp, "DATABASE_URL": self.url, "serializer": "json",
                                           "max_workers": 10})
        self._patch.__enter__()
        self.containers = [ServiceContainer(IdentityService), ServiceContainer(LettersService)]
        for container in self.containers:
            container.start()
        self.client = ClusterRpcClient(uri=amqp)
        self.rpc = self.client.start()
        firm = self.rpc.identity.create_firm(principal={"kind": "platform"}, payload={
            "name": "Bench kantoor", "multi_branch": True, "branches": ["Utrecht"],
            "admin": {"username": f"bench-{self.name}", "password": "een lang bench wachtwoord 42",
                      "name": "Bench Beheerder", "email": "bench@example.nl"}})
        self.principal = {"kind": "staff", "user_id": firm["admin_user_id"], "firm_id": firm["firm_id"],
                          "branch_id": firm["branch_ids"][0], "rights": ["admin"]}
        return self

    def __exit__(self, *exc):
        import sqlalchemy as sa
        from chassis.db import dispose_engines
        self.client.stop()
        for container in reversed(self.containers):
            container.stop()
        self._patch.__exit__(None, None, None)
        dispose_engines()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.rabbit.delete_vhost(self.name)

    def batch(self, letters, trace: bool = False) -> dict:
        import eventlet
        principal = self.principal
        started, cpu = time.perf_counter(), time.process_time()
        created = self.rpc.letters.create_batch(principal=principal, payload={"kind": "pin", "letters": letters})
        accepted = time.perf_counter() - started
        traced = False
        peak = None
        import sqlalchemy as sa
        from chassis.db import get_engine
        engine = get_engine(self.url)
        # progress is read from the database, not with batch_status: that RPC returns the page list
        # of the whole batch, and building it would be counted as the renderer's memory
        while True:
            with engine.connect() as conn:
                state = conn.execute(sa.text("SELECT status FROM letters.batches WHERE id = :b"),
                                     {"b": created["batch_id"]}).scalar()
            if trace and not traced and state == "rendering":
                tracemalloc.start()
                traced = True
            if state in ("done", "failed"):
                break
            eventlet.sleep(0.02)
        total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
        if traced:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert state == "done", state
        return {"accepted_s": accepted, "total_s": total, "cpu_s": total_cpu,
                "peak_mb": peak / 2**20 if peak else None}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench letters")
    # the full size is --letters 10000 --memory 1000,10000 (about 10 minutes on the
    # shared 2-core machine); the default is smaller so the bench finishes in a few minutes
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--memory", default="1000,4000")
    parser.add_argument("--no-service", action="store_true")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(memory_child(args.child[0], int(args.child[1]))))
        return 0

    n = args.letters
    letters = make_letters(n)
    pages = floor_lines(letters)
    # The machine is shared and its load changes by the minute: floor and renderer run in
    # alternating rounds, and CPU time (process_time) is reported beside wall time.
    rounds = 4
    step = -(-n // rounds)
    floor_wall = floor_cpu = ours_wall = ours_cpu = 0.0
    floor_bytes = ours_bytes = 0
    for start in range(0, n, step):
        w, c, b = run_floor(pages[start:start + step])
        floor_wall, floor_cpu, floor_bytes = floor_wall + w, floor_cpu + c, floor_bytes + b
        w, c, b = run_renderer(letters[start:start + step])
        ours_wall, ours_cpu, ours_bytes = ours_wall + w, ours_cpu + c, ours_bytes + b
    print(f"letters: {n} PIN letters, one page each ({rounds} alternating rounds)")
    print(f"  floor (bare canvas, text laid out beforehand): {floor_wall:6.2f} s wall {floor_cpu:6.2f} s CPU  "
          f"{n / floor_cpu:5.0f} pages/CPU-s  {floor_bytes / 2**20:.1f} MiB")
    print(f"  renderer (layout + streaming + encryption):     {ours_wall:6.2f} s wall {ours_cpu:6.2f} s CPU  "
          f"{n / ours_cpu:5.0f} pages/CPU-s  {ours_bytes / 2**20:.1f} MiB  "
          f"ratio {ours_cpu / floor_cpu:.2f}x CPU, {ours_wall / floor_wall:.2f}x wall")
    if not args.no_service:
        with ServiceBench() as svc:
            before = run_floor(pages[:step])
            result = svc.batch(letters)
            after = run_floor(pages[:step])
            floor_cpu_n = (before[1] + after[1]) / 2 * n / len(pages[:step])
            floor_wall_n = (before[0] + after[0]) / 2 * n / len(pages[:step])
            print(f"  service (RPC -> queued -> rendered, encrypted in PostgreSQL, one process): "
                  f"{result['total_s']:6.2f} s wall {result['cpu_s']:6.2f} s CPU  "
                  f"{n / result['total_s']:5.0f} pages/s  ratio {result['cpu_s'] / floor_cpu_n:.2f}x CPU, "
                  f"{result['total_s'] / floor_wall_n:.2f}x wall against a floor run just before and after; "
                  f"create_batch answered in {result['accepted_s'] * 1000:.0f} ms")
            for size in [int(s) for s in args.memory.split(",") if s]:
                traced = svc.batch(make_letters(size), trace=True)
                print(f"  service peak traced memory while rendering {size:6d} letters: {traced['peak_mb']:6.1f} MiB")
    for size in [int(s) for s in args.memory.split(",") if s]:
        ours = measure_in_child("renderer", size)
        floor = measure_in_child("floor", size)
        print(f"  peak memory rendering {size:6d}: renderer {ours['peak_mb']:6.1f} MiB traced, "
              f"peak RSS {ours['maxrss_mb']:.0f} MiB; floor {floor['peak_mb']:6.1f} MiB traced, "
              f"peak RSS {floor['maxrss_mb']:.0f} MiB (fresh process each; "
              f"{ours['rss_before_mb']:.0f} MiB before rendering)")
    return 0
