"""Root fixtures. The eventlet monkey-patch must come before anything else imports."""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import os  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from chassis import serialization  # noqa: E402

serialization.install()  # as every service process does (chassis.runner)

# Keep generated secrets and embedded files out of the developer's var/.
os.environ.setdefault("AKKOORD_VAR_DIR", tempfile.mkdtemp(prefix="akkoord-test-var-"))
os.environ.setdefault("AKKOORD_PLATFORM_TOKEN", "test-platform-token-" + uuid.uuid4().hex)
os.environ.setdefault("AKKOORD_SECRET_KEY", "test-secret-key-" + uuid.uuid4().hex)
os.environ.setdefault("AKKOORD_RPC_TIMEOUT", "20")
# Tests read sent codes from notify's outbox, as `make demo` users do; tests/gateway/test_dev_pages.py
# turns the setting off to show the pages and notify's RPCs are closed by default.
os.environ.setdefault("AKKOORD_DEV_PAGES", "1")

pytest_plugins = ["tests.fixtures"]
