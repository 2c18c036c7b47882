"""``make demo``: migrate, start every service and the gateway, seed a demo firm.

Runs in the foreground; Ctrl-C or SIGTERM stops it cleanly. The environment of
SPEC §5 overrides every default (database, broker, address, tokens). The developer
pages /dev/sms and /dev/mail are on here (AKKOORD_DEV_PAGES=1) unless the environment says 0.
"""
from chassis import runner  # noqa: I001  (eventlet monkey-patch first)

import logging
import os
import sys

import requests

from chassis import config
from chassis.migrations import upgrade_all

DEMO_FIRM = "Demo Accountants"
DEMO_ADMIN = {"username": "demo-beheer", "password": "Welkom bij de demo 2026", "name": "Dana Demo",
              "email": "beheer@demo-accountants.example"}
DEMO_BRANCHES = ["Amsterdam", "Utrecht"]

log = logging.getLogger("akkoord.demo")


def seed(base_url: str, platform_token: str) -> list[str]:
    """Create the demo firm once; returns the lines to print about logins."""
    api = requests.Session()
    login = api.post(f"{base_url}/api/v1/session", json={"username": DEMO_ADMIN["username"],
                                                         "password": DEMO_ADMIN["password"]}, timeout=60)
    if login.status_code != 200:
        created = api.post(f"{base_url}/api/v1/platform/firms", timeout=60,
                           headers={"Authorization": f"Bearer {platform_token}"},
                           json={"name": DEMO_FIRM, "multi_branch": True, "branches": DEMO_BRANCHES,
                                 "admin": DEMO_ADMIN})
        if created.status_code != 201:
            raise RuntimeError(f"demo firm not created: {created.status_code} {created.text}")
    lines = [f"  kantoorbeheerder: {DEMO_ADMIN['username']} / {DEMO_ADMIN['password']}"]
    try:
        from cli import demo_data  # richer demo content (clients, users) when those services exist
        lines += demo_data.seed(base_url, DEMO_ADMIN)
    except ImportError:
        pass
    return lines


def run():
    # demo users read their SMS and e-mail codes on /dev/sms and /dev/mail; AKKOORD_DEV_PAGES=0 still wins
    os.environ.setdefault("AKKOORD_DEV_PAGES", "1")
    settings = config.load()
    print(f"akkoord demo: database {settings.database_url.split('@')[-1]}, broker {settings.amqp_uri.split('@')[-1]}")
    upgrade_all(settings.database_url)
    base_url = f"http://{settings.http_address}"
    names = runner.available_services()

    def announce():
        try:
            lines = seed(base_url, settings.platform_token)
        except Exception as exc:  # the portal still runs; say what went wrong
            log.exception("demo seed failed")
            lines = [f"  (demo-gegevens konden niet worden aangemaakt: {exc})"]
        print("\n".join([
            "",
            f"akkoord draait op {base_url}   (services: {', '.join(names)})",
            f"  portaal (inloggen, accorderen): {base_url}/inloggen   activeren: {base_url}/activeren",
            f"  API-documentatie: {base_url}/api/v1/openapi.json",
            *([f"  verstuurde sms en e-mail (ontwikkelpagina's): {base_url}/dev/sms  {base_url}/dev/mail"]
              if settings.dev_pages else []),
            f"  platformtoken: {settings.platform_token}",
            *lines,
            "Stoppen: Ctrl-C",
            "",
        ]), flush=True)

    runner.run(names, on_started=announce)
    return 0


if __name__ == "__main__":
    sys.exit(run())
