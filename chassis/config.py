"""Configuration from the environment (SPEC §5), with laptop defaults."""
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR = REPO_ROOT / "var"


def var_dir() -> Path:
    path = Path(os.environ.get("AKKOORD_VAR_DIR", DEFAULT_VAR))
    path.mkdir(parents=True, exist_ok=True)
    return path


_secrets_read: dict[tuple, str] = {}


def _generated_secret(filename: str) -> str:
    """A secret generated once into var/ so restarts keep it; read once per process (every BSN
    sealed in an import asks for it, so the cache is keyed by the plain variable, not a Path)."""
    key = (os.environ.get("AKKOORD_VAR_DIR"), filename)
    value = _secrets_read.get(key)
    if value is not None:
        return value
    path = var_dir() / filename
    if path.exists():
        value = path.read_text().strip()
    else:
        value = secrets.token_urlsafe(32)
        path.write_text(value + "\n")
        path.chmod(0o600)
    _secrets_read[key] = value
    return value


def secret_key() -> str:
    """The key data at rest is encrypted with (AKKOORD_SECRET_KEY, or one generated into var/)."""
    return os.environ.get("AKKOORD_SECRET_KEY") or _generated_secret("secret_key")


def previous_secret_keys() -> tuple[str, ...]:
    """AKKOORD_SECRET_KEY_PREVIOUS: other keys, comma-separated, accepted for reading only: the old key while
    a key rotation is under way, and the new one just before it takes over (docs/deploy.md §8). Nothing new
    is encrypted or hashed with them."""
    return _split_keys(os.environ.get("AKKOORD_SECRET_KEY_PREVIOUS", ""))


@lru_cache(maxsize=8)
def _split_keys(raw: str) -> tuple[str, ...]:
    # cached: every decryption asks, and the variable changes only when a process is restarted (or a test)
    return tuple(dict.fromkeys(key.strip() for key in raw.split(",") if key.strip()))


def unconfirmed_hours() -> float:
    """AKKOORD_UNCONFIRMED_HOURS (24): how long letters and notify keep a letter batch or a mail that carries a
    secret, held unsent, waiting for identity to confirm that the change which issued the secret committed.
    Identity's confirmation comes through its outbox, so it arrives unless identity rolled back (or the broker
    stays away longer than this); a batch or mail still held after this time is discarded unsent."""
    raw = os.environ.get("AKKOORD_UNCONFIRMED_HOURS", "").strip() or "24"
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):  # also refuses nan
        raise ValueError(f"AKKOORD_UNCONFIRMED_HOURS must be a positive number of hours, not {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    database_url: str
    http_address: str
    sms_backend: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from: str | None
    twilio_api_base: str | None
    dev_pages: bool
    trusted_proxies: int
    unconfirmed_hours: float

    @property
    def platform_token(self) -> str:
        return os.environ.get("AKKOORD_PLATFORM_TOKEN") or _generated_secret("platform_token")

    @property
    def secret_key(self) -> str:
        return secret_key()

    @property
    def previous_secret_keys(self) -> tuple[str, ...]:
        return previous_secret_keys()


def load() -> Settings:
    env = os.environ
    return Settings(
        amqp_uri=env.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"),
        database_url=env.get("AKKOORD_DATABASE_URL") or f"sqlite:///{var_dir() / 'akkoord.db'}",
        http_address=env.get("AKKOORD_HTTP", "127.0.0.1:8000"),
        sms_backend=env.get("AKKOORD_SMS_BACKEND", "outbox"),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN"),
        twilio_from=env.get("TWILIO_FROM"),
        twilio_api_base=env.get("TWILIO_API_BASE"),
        dev_pages=dev_pages(),
        trusted_proxies=trusted_proxies(),
        unconfirmed_hours=unconfirmed_hours(),  # read here too, so a bad value stops the start, not a timer
    )


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def dev_pages() -> bool:
    """AKKOORD_DEV_PAGES: serve /dev/sms and /dev/mail. Off unless asked for: those pages show every
    firm's login and approval codes to anyone, so only `make demo` and tests turn them on."""
    value = os.environ.get("AKKOORD_DEV_PAGES", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"AKKOORD_DEV_PAGES must be 1 or 0, not {value!r}")


def trusted_proxies() -> int:
    """AKKOORD_TRUSTED_PROXIES: how many proxies in front of the gateway append to X-Forwarded-For.
    0 (default): the header is ignored, since any caller can send it; the socket's address counts."""
    value = os.environ.get("AKKOORD_TRUSTED_PROXIES", "").strip() or "0"
    try:
        hops = int(value)
    except ValueError:
        hops = -1
    if hops < 0:
        raise ValueError(f"AKKOORD_TRUSTED_PROXIES must be a whole number >= 0, not {value!r}")
    return hops


def nameko_config(settings: Settings | None = None) -> dict:
    """The nameko config dict for a process, derived from the environment."""
    settings = settings or load()
    return {
        "AMQP_URI": settings.amqp_uri,
        "WEB_SERVER_ADDRESS": settings.http_address,
        "DATABASE_URL": settings.database_url,
        "rpc_exchange": "nameko-rpc",
        "serializer": "json",
        "max_workers": int(os.environ.get("AKKOORD_MAX_WORKERS", "10")),
        "parent_calls_tracked": 10,
        "LOGGING": None,
    }
