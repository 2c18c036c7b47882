"""``akkoord rotate-secret-key``: after AKKOORD_SECRET_KEY was changed (the old key moved to
AKKOORD_SECRET_KEY_PREVIOUS), re-encrypt every service's data at rest with the new key.

Each service re-encrypts its own schema (``<package>.rekey.rekey(connection)``, as each keeps its own
migrations), in batches with their own transactions, while the services keep running: a second run
changes nothing, an interrupted one is simply run again. What only its holder knows cannot be
re-encrypted: PINs and activation codes still made with a previous key are counted, so the platform team
knows when the previous key can be dropped (docs/deploy.md, "Rotating AKKOORD_SECRET_KEY").
"""
import importlib
import importlib.util
import os
import sys

NO_KEY = ("rotate-secret-key: AKKOORD_SECRET_KEY is not set. Set it to the new key and AKKOORD_SECRET_KEY_PREVIOUS "
          "to the old one (several: comma-separated), as the services have them; see docs/deploy.md.")


def register(subparsers):
    rotate = subparsers.add_parser(
        "rotate-secret-key",
        help="re-encrypt data at rest with AKKOORD_SECRET_KEY after a key change (old keys in "
             "AKKOORD_SECRET_KEY_PREVIOUS); safe to run again")
    rotate.set_defaults(func=rotate_command)


def rotate_command(args) -> int:
    # The key is never generated here (config.secret_key would make one in var/): re-encrypting everything
    # with a key nobody else has would lock the services out.
    if not os.environ.get("AKKOORD_SECRET_KEY", "").strip():
        print(NO_KEY, file=sys.stderr)
        return 2
    reports = rotate_all()
    return 1 if any(report.unreadable for report in reports.values()) else 0


def _rekey_module(package: str):
    if importlib.util.find_spec(f"{package}.rekey") is None:
        return None
    return importlib.import_module(f"{package}.rekey")


def rotate_all(database_url: str | None = None, out=None) -> dict:
    """Re-encrypt every service's data at rest; prints a line per service and what is left under a previous
    key. Gives {service: chassis.crypto.RekeyReport} for the services that store ciphertexts."""
    from chassis import config
    from chassis.db import get_engine
    from chassis.migrations import SERVICE_PACKAGES

    out = out or sys.stdout
    engine = get_engine(database_url or config.load().database_url)
    reports = {}
    with engine.connect() as conn:
        for service, package in SERVICE_PACKAGES.items():
            module = _rekey_module(package)
            if module is None:
                print(f"{service}: nothing stored encrypted", file=out, flush=True)
                continue
            try:
                reports[service] = report = module.rekey(conn)
            except BaseException:
                conn.rollback()  # the finished batches stay committed; a new run picks up from there
                raise
            print(f"{service}: {_line(report)}", file=out, flush=True)
    _summary(reports, bool(config.previous_secret_keys()), out)
    return reports


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _line(report) -> str:
    line = (f"{_count(report.reencrypted, 'value', 'values')} re-encrypted, "
            f"{report.current} already under the current key")
    if report.unreadable:
        line += f", {report.unreadable} readable with no configured key"
    return line


def _summary(reports: dict, rotating: bool, out):
    unreadable = sum(report.unreadable for report in reports.values())
    left = {}
    for report in reports.values():
        for name, count in report.left_under_previous.items():
            left[name] = left.get(name, 0) + count
    pins, codes = left.get("pins", 0), left.get("activation_codes", 0)
    if unreadable:
        print(f"{_count(unreadable, 'value', 'values')} could not be decrypted with AKKOORD_SECRET_KEY nor with "
              "AKKOORD_SECRET_KEY_PREVIOUS and were left as they are: is a previous key missing?", file=out)
    if not rotating:
        print("AKKOORD_SECRET_KEY_PREVIOUS is not set: everything readable is under AKKOORD_SECRET_KEY.", file=out)
    elif pins or codes:
        print(f"left under a previous key, known only to their holders: {_count(pins, 'PIN', 'PINs')}, "
              f"{_count(codes, 'activation code', 'activation codes')}", file=out)
        print("  a PIN moves to the current key when it is next used; an activation code ends when used or "
              "expired (14 days)", file=out)
        print("  keep AKKOORD_SECRET_KEY_PREVIOUS until these are 0, or issue new PIN or activation letters to "
              "those users", file=out)
    elif not unreadable:
        print("nothing depends on AKKOORD_SECRET_KEY_PREVIOUS any more: it can be removed.", file=out)
    out.flush()
