"""notify's limit of codes per number reaches the approval screen as 429 sms_limit with Retry-After,
also in an approval process that knows nothing of notify's errors (its own pod in Kubernetes)."""
import subprocess
import sys

from tests.approval.helpers import World

RELAY_IN_AN_APPROVAL_POD = r"""
import chassis.errors  # what every service process has: the relay registry
from nameko.exceptions import deserialize
from approval.identity_client import translate
# what identity sends when notify refused the code: identity's own class, notify's reason and wait
wire = {"exc_path": "identity.exceptions.SmsLimitReached", "exc_type": "SmsLimitReached",
        "exc_args": ["Te veel codes; probeer het later opnieuw.", {"reason": "codes_per_number", "retry_after": 120}],
        "value": "Te veel codes"}
local = translate(deserialize(wire))
print(type(local).__module__, type(local).__name__, local.status, local.code, local.details["retry_after"])
"""


def test_the_limit_keeps_its_429_in_an_approval_process_without_the_gateway():
    out = subprocess.run([sys.executable, "-c", RELAY_IN_AN_APPROVAL_POD], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["approval.exceptions", "SmsLimitReached", "429", "sms_limit", "120"]


def test_too_many_codes_for_a_request_is_429_with_retry_after(approval_portal, fake_twilio):
    w = World(approval_portal, fake_twilio)
    client = w.client()
    sam = w.user(client["id"], "Sam Jansen", mobile="+31612345677")
    w.tokens([sam], "sms")
    request_id = w.upload(w.admin, client["id"]).json()["approval_id"]
    answers = [sam["api"].post(f"/api/v1/approvals/{request_id}/sms") for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [202] * 5
    refused = answers[5]
    assert refused.status_code == 429 and refused.json()["error"] == "sms_limit", refused.text
    assert int(refused.headers["Retry-After"]) > 0
