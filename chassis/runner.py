"""Run one or more akkoord services in this process until SIGTERM or Ctrl-C.

Used by ``akkoord serve`` (one service per pod in Kubernetes, several per
process for ``make demo``). The eventlet monkey-patch must happen before
anything imports sockets, so callers import this module first thing.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (must precede every other import)

import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402

from nameko import config as nameko_config  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from chassis import config, logs, serialization  # noqa: E402

SERVICES = {
    "identity": "identity.service:IdentityService",
    "importer": "importer.service:ImporterService",
    "approval": "approval.service:ApprovalService",
    "notify": "notify.service:NotifyService",
    "letters": "letters.service:LettersService",
    "filing": "filing.service:FilingService",
    "gateway": "gateway.service:GatewayService",
}

log = logging.getLogger("akkoord.runner")

# Callers before the services they call (SPEC §2 "talks to"), so a worker still running in a caller
# gets its answer instead of waiting out its deadline on a queue nobody reads any more: an import
# commit's batch to identity waits up to 300 s. letters and identity call each other; identity's
# callers are the longer work (PIN letters of a bulk issue), so it goes first.
STOP_ORDER = ("gateway", "filing", "importer", "approval", "identity", "letters", "notify")


def service_class(name: str):
    module_name, class_name = SERVICES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def available_services() -> list[str]:
    names = []
    for name in SERVICES:
        try:
            service_class(name)
            names.append(name)
        except (ImportError, AttributeError):
            continue
    return names


def stop_callers_first(runner: ServiceRunner):
    """``runner.stop()`` stops every container at once; here one after another in STOP_ORDER (each
    lets its in-flight workers finish), then whatever else the runner holds."""
    for name in STOP_ORDER:
        container = runner.service_map.get(name)
        if container is not None:
            container.stop()
    runner.stop()


def heartbeat(path: str, interval: float = 10.0):
    """Touch ``path`` while the eventlet hub runs: a cheap liveness signal for exec probes
    (a stuck hub stops touching it). Enabled by AKKOORD_HEARTBEAT_FILE; see deploy/k8s."""
    while True:
        try:
            with open(path, "a"):
                os.utime(path, None)
        except OSError:
            log.warning("heartbeat file not writable", extra={"path": path})
        eventlet.sleep(interval)


def run(names: list[str], on_started=None):
    logs.configure()
    serialization.install()
    settings = config.load()
    nameko_config.update(config.nameko_config(settings))
    runner = ServiceRunner()
    for name in names:
        runner.add_service(service_class(name))

    def shutdown(signum, _frame):
        log.info("stopping", extra={"signal": signum})
        # stop() lets in-flight workers finish; run it off the signal handler.
        eventlet.spawn_n(stop_callers_first, runner)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    if os.environ.get("AKKOORD_HEARTBEAT_FILE"):
        eventlet.spawn_n(heartbeat, os.environ["AKKOORD_HEARTBEAT_FILE"])
    log.info("started", extra={"services": names, "http": settings.http_address if "gateway" in names else None})
    if on_started:
        on_started()
    runner.wait()
    log.info("stopped")
