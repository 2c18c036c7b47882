"""Import benchmark: a generated client file (N clients × 17 columns) as .xlsx and .csv,
from upload to committed in PostgreSQL, against the floor of only reading the same
file with the fastest reader we ship (python-calamine for .xlsx, the csv module for
.csv), measured in the same run. The import worker runs in its own process (a fresh
one per file), so its peak memory (VmHWM) is the import's.

    python -m bench importer                  # 10,000 and 30,000 rows
    python -m bench importer --rows 10000 100000
"""
import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "akkoord-bench-importer"
HEADERS = ["Cliëntnummer", "Naam", "Rechtsvorm", "KvK-nummer", "BSN", "RSIN", "Btw-nummer", "Straat", "Huisnummer",
           "Postcode", "Plaats", "Land", "E-mail", "Telefoon", "Mobiel", "Contactpersoon", "Vestiging"]
CITIES = ["Amsterdam", "Utrecht", "Zwolle", "Groningen", "Eindhoven", "Den Haag", "Rotterdam", "Nijmegen"]
STREETS = ["Dorpsstraat", "Kerkstraat", "Molenweg", "Stationsplein", "Marktplein", "Julianalaan", "Beukenlaan"]
FORMS = ["BV", "Eenmanszaak", "VOF", "Stichting", "NV", "Maatschap"]


def elfproef(prefix: int) -> str | None:
    digits = [int(d) for d in f"{prefix:08d}"]
    check = sum(d * (9 - i) for i, d in enumerate(digits)) % 11
    return None if check == 10 else f"{prefix:08d}{check}"


def row(i: int) -> list:
    rsin = elfproef(10000000 + i * 7) or elfproef(10000001 + i * 7) or elfproef(10000002 + i * 7)
    bsn = elfproef(20000000 + i * 3) if i % 10 == 0 else ""
    return [f"{i:07d}", f"Onderneming {i} {FORMS[i % 6]}", FORMS[i % 6], f"{(i * 37) % 100000000:08d}", bsn or "",
            rsin, f"NL{rsin}B01", STREETS[i % 7], str(1 + i % 300), f"{1000 + i % 9000} {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}",
            CITIES[i % 8], "NL", f"info{i}@onderneming{i}.nl", f"030 {1000000 + i % 9000000}",
            f"06 {10000000 + i % 89999999}", f"J. Jansen {i}", "Amsterdam" if i % 2 else "Utrecht"]


def generate(rows: int, directory=CACHE) -> tuple[Path, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = directory / f"clients-{rows}.csv", directory / f"clients-{rows}.xlsx"
    if not csv_path.exists():
        with open(csv_path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(HEADERS)
            for i in range(1, rows + 1):
                writer.writerow(row(i))
    if not xlsx_path.exists():
        from openpyxl import Workbook
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Cliënten")
        sheet.append(HEADERS)
        for i in range(1, rows + 1):
            sheet.append(row(i))
        workbook.save(xlsx_path)
    return xlsx_path, csv_path


def floor(path: Path) -> float:
    """Only reading every row of the file with the fastest reader we ship."""
    started = time.perf_counter()
    if path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        count = sum(1 for _ in sheet.iter_rows())
    else:
        with open(path, encoding="utf-8", newline="") as handle:
            count = sum(1 for _ in csv.reader(handle, delimiter=";"))
    assert count > 1
    return time.perf_counter() - started


# -- a portal in subprocesses: identity + gateway in one, the importer alone ------------------
class Stack:
    def __init__(self, identity_replicas: int = 1):
        import requests
        import sqlalchemy as sa

        from chassis.db import normalise_url
        from chassis.migrations import upgrade_all
        self.requests = requests
        self.db_name = f"akkoord_bench_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(normalise_url("postgresql://127.0.0.1:5432/test"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.db_name}"'))
        self.db_url = f"postgresql://127.0.0.1:5432/{self.db_name}"
        upgrade_all(self.db_url)
        self.vhost = self.db_name
        self.mgmt = "http://guest:guest@127.0.0.1:15672/api"
        requests.put(f"{self.mgmt}/vhosts/{self.vhost}", timeout=10).raise_for_status()
        requests.put(f"{self.mgmt}/permissions/{self.vhost}/guest", json={"configure": ".*", "write": ".*",
                                                                          "read": ".*"}, timeout=10).raise_for_status()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ, AMQP_URI=f"pyamqp://guest:guest@127.0.0.1:5672/{self.vhost}",
                        AKKOORD_DATABASE_URL=self.db_url, AKKOORD_HTTP=f"127.0.0.1:{port}",
                        AKKOORD_PLATFORM_TOKEN="bench-" + uuid.uuid4().hex, AKKOORD_RPC_TIMEOUT="300",
                        AKKOORD_VAR_DIR=tempfile.mkdtemp(prefix="akkoord-bench-"))
        self.front = self._serve("identity", "gateway")
        # more identity processes on the same queue (competing consumers), as the platform scales it
        self.extra_identity = [self._serve("identity") for _ in range(identity_replicas - 1)]
        self.importer = None
        self._wait_ready()

    def _serve(self, *names):
        return subprocess.Popen([sys.executable, "-m", "cli.main", "serve", *names], cwd=REPO, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart_importer(self):
        self.stop_importer()
        self.importer = self._serve("importer")
        for _ in range(120):  # until it answers its ping over RabbitMQ
            probe = subprocess.run([sys.executable, "-m", "cli.main", "health", "importer"], cwd=REPO, env=self.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if probe.returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("importer did not start")
        self.idle_mb = self._status_mb("VmRSS:")

    def stop_importer(self):
        if self.importer is not None:
            self.importer.send_signal(signal.SIGTERM)
            self.importer.wait(60)
            self.importer = None

    def importer_peak_mb(self) -> float:
        return self._status_mb("VmHWM:")

    def _status_mb(self, key: str) -> float:
        with open(f"/proc/{self.importer.pid}/status") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def _wait_ready(self):
        for _ in range(120):
            try:
                if self.requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except self.requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError("gateway did not start")

    def login(self):
        token = self.env["AKKOORD_PLATFORM_TOKEN"]
        admin = {"username": "bench-" + uuid.uuid4().hex[:6], "password": "een lang bench wachtwoord 42",
                 "name": "Bench", "email": "bench@example.nl"}
        response = self.requests.post(self.url + "/api/v1/platform/firms", headers={"Authorization": f"Bearer {token}"},
                                      json={"name": "Bench " + admin["username"], "multi_branch": True,
                                            "branches": ["Amsterdam", "Utrecht"], "admin": admin}, timeout=60)
        response.raise_for_status()
        session = self.requests.Session()
        login = session.post(self.url + "/api/v1/session", json={"username": admin["username"],
                                                                  "password": admin["password"]}, timeout=60)
        login.raise_for_status()
        session.headers["Authorization"] = "Bearer " + login.json()["token"]
        return session

    def close(self):
        self.stop_importer()
        for process in [self.front, *self.extra_identity]:
            process.send_signal(signal.SIGTERM)
        for process in [self.front, *self.extra_identity]:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        import sqlalchemy as sa

        from chassis.db import dispose_engines
        dispose_engines()
        with self.admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": self.db_name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db_name}"'))
        self.requests.delete(f"{self.mgmt}/vhosts/{self.vhost}", timeout=10)


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(api, url, statuses, timeout=3600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(url, timeout=120)
        if response.status_code >= 500:  # a busy moment; ask again
            print(f"  status {response.status_code}: {response.text[:200]}", file=sys.stderr)
            time.sleep(1)
            continue
        body = response.json()
        if "status" not in body:
            raise RuntimeError(f"unexpected answer {response.status_code}: {body}")
        if body["status"] in statuses:
            return body
        time.sleep(0.2)
    raise RuntimeError(f"import did not reach {statuses}")


def import_once(stack, api, path: Path, commit: bool = True) -> dict:
    """Upload → preview ready → commit → done; the timings of each stage."""
    started = time.perf_counter()
    with open(path, "rb") as handle:
        response = api.post(stack.url + "/api/v1/imports", files={"file": (path.name, handle)}, timeout=600)
    response.raise_for_status()
    import_id = response.json()["id"]
    uploaded = time.perf_counter()
    ready = _wait(api, f"{stack.url}/api/v1/imports/{import_id}", ("ready", "failed"))
    assert ready["status"] == "ready", ready
    parsed = time.perf_counter()
    if not commit:
        return {"upload": uploaded - started, "preview": parsed - uploaded, "commit": float("nan"),
                "total": float("nan"), "summary": ready["summary"], "result": {"created": 0},
                "reader_peak_mb": ready.get("reader_peak_mb")}
    api.post(f"{stack.url}/api/v1/imports/{import_id}/commit", json={"rows": "all"}, timeout=60).raise_for_status()
    done = _wait(api, f"{stack.url}/api/v1/imports/{import_id}", ("done", "failed"))
    assert done["status"] == "done", done
    finished = time.perf_counter()
    return {"upload": uploaded - started, "preview": parsed - uploaded, "commit": finished - parsed,
            "total": finished - started, "summary": ready["summary"], "result": done["result"],
            "reader_peak_mb": ready.get("reader_peak_mb")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench importer")
    parser.add_argument("--rows", type=int, nargs="+", default=[10000, 30000])
    parser.add_argument("--formats", nargs="+", default=["xlsx", "csv"])
    parser.add_argument("--preview-only", action="store_true", help="stop when the preview is ready")
    parser.add_argument("--identity-replicas", type=int, default=1,
                        help="identity processes sharing its RPC queue (the first also runs the gateway)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    results = []
    stack = Stack(identity_replicas=args.identity_replicas)
    try:
        for rows in args.rows:
            xlsx_path, csv_path = generate(rows)
            for fmt in args.formats:
                path = xlsx_path if fmt == "xlsx" else csv_path
                floor_seconds = floor(path)
                stack.restart_importer()  # a fresh worker process: its peak memory is this import's
                api = stack.login()       # a fresh firm: every client is new
                timings = import_once(stack, api, path, commit=not args.preview_only)
                peak = stack.importer_peak_mb()
                result = {"rows": rows, "format": fmt, "identity_replicas": args.identity_replicas,
                          "bytes": path.stat().st_size, "floor_s": round(floor_seconds, 2),
                          **{k: round(v, 2) for k, v in timings.items() if isinstance(v, float)},
                          "ratio": round(timings["total"] / floor_seconds, 1),
                          "ratio_preview": round((timings["upload"] + timings["preview"]) / floor_seconds, 1),
                          "importer_idle_mb": round(stack.idle_mb, 1), "importer_peak_mb": round(peak, 1),
                          "xlsx_reader_child_peak_mb": timings["reader_peak_mb"],
                          "created": timings["result"]["created"]}
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        stack.close()
    print()
    print("| rows | format | file MB | floor (read only) | upload | preview | commit | total | total/floor | "
          "upload+preview/floor | importer RSS idle → peak |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['format']} | {r['bytes'] / 1e6:.1f} | {r['floor_s']} s | {r['upload']} s | "
              f"{r['preview']} s | {r['commit']} s | {r['total']} s | {r['ratio']}× | {r['ratio_preview']}× | "
              f"{r['importer_idle_mb']} → {r['importer_peak_mb']} MB |")
    return 0
