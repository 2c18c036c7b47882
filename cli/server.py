"""Server-side commands: run services, migrate, start the demo portal, health probe."""
import sys


def register(subparsers):
    serve = subparsers.add_parser("serve", help="run services in this process until SIGTERM")
    serve.add_argument("services", nargs="+", help="identity importer approval notify letters filing gateway | all")
    serve.set_defaults(func=serve_command)

    migrate = subparsers.add_parser("migrate", help="run every service's database migrations once")
    migrate.add_argument("services", nargs="*")
    migrate.set_defaults(func=migrate_command)

    demo = subparsers.add_parser("demo", help="migrate, seed a demo firm and run the whole portal")
    demo.set_defaults(func=demo_command)

    health = subparsers.add_parser("health", help="exit 0 when a service answers its ping over RabbitMQ")
    health.add_argument("service")
    health.add_argument("--timeout", type=float, default=5.0)
    health.set_defaults(func=health_command)


def serve_command(args):
    from chassis import runner  # monkey-patches eventlet first
    names = runner.available_services() if args.services == ["all"] else args.services
    runner.run(names)


def migrate_command(args):
    from chassis.migrations import upgrade_all
    upgrade_all(packages=args.services or None)
    print("migrations: up to date")


def demo_command(args):
    from cli import demo
    demo.run()


def health_command(args):
    from chassis import runner  # noqa: F401  (eventlet patch)
    from chassis.health import service_alive
    ok = service_alive(args.service, timeout=args.timeout)
    print("ok" if ok else "unhealthy")
    sys.exit(0 if ok else 1)
