"""HTTP plumbing for the client-side commands: base URL, token, errors in Dutch."""
import os
import sys
from urllib.parse import urlsplit

import requests


def gateway_url(args) -> str:
    return (getattr(args, "url", None) or os.environ.get("AKKOORD_URL")
            or "http://" + os.environ.get("AKKOORD_HTTP", "127.0.0.1:8000")).rstrip("/")


def add_connection_options(parser, token_env="AKKOORD_TOKEN"):
    parser.add_argument("--url", help="gateway URL (default $AKKOORD_URL or http://$AKKOORD_HTTP)")
    # A token may start with '-', which argparse takes for an option unless given as --token=TOKEN.
    parser.add_argument("--token", default=None,
                        help=f"bearer token; prefer ${token_env}, which keeps it out of the process list")
    parser.set_defaults(token_env=token_env)


class _Session(requests.Session):
    """A gateway that is down or too slow is a message and exit code 1, not a traceback."""

    def request(self, method, url, *args, **kwargs):
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.Timeout:
            print(f"fout: de gateway op {_origin(url)} antwoordt niet op tijd; probeer het later opnieuw.",
                  file=sys.stderr)
        except requests.ConnectionError:
            print(f"fout: de gateway op {_origin(url)} is niet bereikbaar; draait het portaal en klopt --url "
                  "(of $AKKOORD_URL)?", file=sys.stderr)
        except requests.RequestException as exc:
            print(f"fout: verzoek aan {_origin(url)} mislukt ({type(exc).__name__}).", file=sys.stderr)
        raise SystemExit(1)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def session(args) -> requests.Session:
    s = _Session()
    token = args.token or os.environ.get(args.token_env)
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


def check(response: requests.Response):
    if response.status_code >= 400:
        try:
            body = response.json()
            message = f"{body.get('error')}: {body.get('message')}"
            details = body.get("details")
        except ValueError:
            message, details = response.text[:500], None
        print(f"fout ({response.status_code}) {message}", file=sys.stderr)
        if details:
            print(details, file=sys.stderr)
        raise SystemExit(1)
    return response
