from tests.approval.conftest import approval_portal, fake_twilio  # noqa: F401
