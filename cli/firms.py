"""``akkoord firm create``: the platform team creates a firm with its first admin."""
import getpass
import json

from cli.http import add_connection_options, check, gateway_url, session


def register(subparsers):
    firm = subparsers.add_parser("firm", help="kantoren beheren (platformbeheer)")
    actions = firm.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="een kantoor aanmaken met zijn eerste beheerder")
    create.add_argument("name", help="naam van het kantoor")
    create.add_argument("--branch", action="append", default=[], help="vestiging (herhaalbaar)")
    create.add_argument("--multi-branch", action="store_true", help="Vestigingenbeheer aan")
    create.add_argument("--admin-username", required=True)
    create.add_argument("--admin-name", required=True)
    create.add_argument("--admin-email")
    create.add_argument("--admin-password", help="wordt gevraagd als het ontbreekt")
    add_connection_options(create, token_env="AKKOORD_PLATFORM_TOKEN")
    create.set_defaults(func=create_firm)


def create_firm(args):
    password = args.admin_password or getpass.getpass("Wachtwoord voor de beheerder: ")
    body = {"name": args.name, "multi_branch": args.multi_branch, "branches": args.branch,
            "admin": {"username": args.admin_username, "password": password, "name": args.admin_name,
                      "email": args.admin_email}}
    response = check(session(args).post(gateway_url(args) + "/api/v1/platform/firms", json=body, timeout=60))
    print(json.dumps(response.json(), indent=2))
