"""The ``akkoord`` command.

Server side: ``akkoord serve SERVICE...``, ``akkoord migrate``, ``akkoord demo``,
``akkoord health SERVICE``, ``akkoord rotate-secret-key``. Client side (HTTP to the gateway):
``akkoord firm create``, ``akkoord import FILE`` and others; each area adds its commands in ``cli/<area>.py``
with a ``register(subparsers)`` function listed in COMMAND_MODULES.
"""
import argparse
import importlib
import sys

COMMAND_MODULES = ["cli.server", "cli.firms", "cli.importer", "cli.scale", "cli.key_rotation"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="akkoord", description="akkoord: cliëntportaal voor accountantskantoren")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        module.register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
