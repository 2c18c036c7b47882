"""Filing needs the whole portal with approval's fixtures (SMS through the twilio fake)."""
from tests.approval.conftest import approval_portal, fake_twilio  # noqa: F401
