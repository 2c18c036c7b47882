"""``akkoord import FILE [--group NAME]``: upload a client file, follow the preview with a
progress bar, show the summary and the invalid rows, commit after confirmation, and report rows that failed."""
import os
import sys
import time

from cli.http import add_connection_options, check, gateway_url, session

LABELS = {"number": "Cliëntnummer", "name": "Naam", "legal_form": "Rechtsvorm", "kvk": "KvK-nummer", "bsn": "BSN",
          "rsin": "RSIN", "vat": "Btw-nummer", "street": "Straat", "house_number": "Huisnummer",
          "postcode": "Postcode", "city": "Plaats", "country": "Land", "email": "E-mail", "phone": "Telefoon",
          "mobile": "Mobiel", "contact": "Contactpersoon", "branch": "Vestiging", "row": "Rij"}
STATUS_WORDS = {"parsing": "Inlezen", "committing": "Doorvoeren"}


def register(subparsers):
    command = subparsers.add_parser("import", help="cliëntbestand (.xlsx of .csv) importeren")
    command.add_argument("file", help="pad naar het .xlsx- of .csv-bestand")
    command.add_argument("--group", help="cliëntgroep voor de nieuwe cliënten")
    command.add_argument("--branch-id", type=int, help="vestiging voor nieuwe cliënten zonder vestiging")
    command.add_argument("--yes", "-y", action="store_true", help="zonder te vragen doorvoeren")
    command.add_argument("--show", type=int, default=50, help="hoeveel ongeldige rijen tonen (standaard 50)")
    add_connection_options(command)
    command.set_defaults(func=import_file)


def progress_bar(label: str, done: int, total: int, width: int = 30) -> str:
    total = max(total, done, 1)
    filled = int(width * done / total)
    return f"\r{label:<11} [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%  {done}/{total}"


def follow(http, url: str, until: tuple) -> dict:
    last = ""
    while True:
        body = check(http.get(url, timeout=60)).json()
        if body["status"] in until:
            if last:
                sys.stderr.write("\n")
            return body
        line = progress_bar(STATUS_WORDS.get(body["status"], body["status"]), body["progress"]["done"],
                            body["progress"]["total"])
        if body["progress"].get("message"):  # waiting for a service that is away; it goes on by itself
            line += "  " + body["progress"]["message"]
        if line != last:
            sys.stderr.write(line)
            sys.stderr.flush()
            last = line
        time.sleep(0.3)


def find_group(http, base: str, name: str) -> int:
    groups = check(http.get(base + "/api/v1/groups", params={"kind": "client"}, timeout=60)).json()["items"]
    for group in groups:
        if group["kind"] == "client" and group["name"].casefold() == name.casefold():
            return group["id"]
    names = ", ".join(g["name"] for g in groups if g["kind"] == "client") or "geen"
    print(f"fout: cliëntgroep '{name}' bestaat niet (bestaande groepen: {names})", file=sys.stderr)
    raise SystemExit(1)


def print_summary(status: dict):
    summary = status["summary"]
    print(f"Bestand: {status['filename']} ({status['kind']}, {status['size']} bytes)")
    print(f"  nieuw:        {summary['new']}")
    print(f"  wijzigen:     {summary['update']}")
    print(f"  ongewijzigd:  {summary['unchanged']}")
    print(f"  ongeldig:     {summary['invalid']}")
    unknown = (status.get("columns") or {}).get("unknown") or []
    if unknown:
        print("Genegeerde kolommen: " + ", ".join(unknown))


def print_invalid(http, base: str, import_id: int, limit: int, status: str = "invalid",
                  title: str = "Ongeldige rijen:"):
    if limit <= 0:
        return
    body = check(http.get(f"{base}/api/v1/imports/{import_id}/rows",
                          params={"status": status, "per_page": min(limit, 1000)}, timeout=60)).json()
    if not body["items"]:
        return
    print(title)
    for row in body["items"]:
        reasons = "; ".join(f"{LABELS.get(f, f)}: {reason}" for f, reason in row["errors"].items())
        print(f"  rij {row['row']} ({row.get('number') or '-'}): {reasons}")
    if body["total"] > len(body["items"]):
        print(f"  ... en nog {body['total'] - len(body['items'])} rijen")


def import_file(args):
    base = gateway_url(args)
    http = session(args)
    if not os.path.isfile(args.file):
        print(f"fout: bestand '{args.file}' niet gevonden", file=sys.stderr)
        return 1
    group_id = find_group(http, base, args.group) if args.group else None
    form = {"branch_id": str(args.branch_id)} if args.branch_id else {}
    with open(args.file, "rb") as handle:
        started = check(http.post(base + "/api/v1/imports", files={"file": (os.path.basename(args.file), handle)},
                                  data=form, timeout=600)).json()
    status = follow(http, f"{base}/api/v1/imports/{started['id']}", ("ready", "failed", "done"))
    if status["status"] == "failed":
        print(f"fout: {(status.get('error') or {}).get('message', 'het bestand kon niet worden ingelezen')}",
              file=sys.stderr)
        return 1
    print_summary(status)
    print_invalid(http, base, started["id"], args.show)
    todo = status["summary"]["new"] + status["summary"]["update"]
    if todo == 0:
        print("Niets door te voeren: alle geldige rijen zijn al gelijk.")
        return 0
    if not args.yes:
        sys.stdout.write(f"{todo} cliënten doorvoeren? [j/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("j", "ja", "y", "yes"):
            print("Niet doorgevoerd.")
            return 0
    check(http.post(f"{base}/api/v1/imports/{started['id']}/commit", json={"rows": "all", "group_id": group_id},
                    timeout=60))
    done = follow(http, f"{base}/api/v1/imports/{started['id']}", ("done", "failed"))
    if done["status"] != "done":
        print(f"fout: {(done.get('error') or {}).get('message', 'doorvoeren mislukt')}", file=sys.stderr)
        return 1
    result = done["result"]
    print(f"Doorgevoerd: {result['created']} nieuw, {result['updated']} gewijzigd, "
          f"{result['unchanged']} ongewijzigd, {result['failed']} mislukt.")
    if result["failed"]:
        # rows the preview accepted but identity refused: say which and why, and exit non-zero for scripts
        print_invalid(http, base, started["id"], max(args.show, 1), "failed", "Mislukte rijen:")
        return 1
    return 0
