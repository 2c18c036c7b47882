"""Schema-driven fuzzing: schemathesis generates requests from our own OpenAPI document
for every route; no input may produce a 5xx."""
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from nameko import config as nameko_config
from nameko.testing.utils import find_free_port

from tests.fixtures import Portal, Vhost

MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzz_portal(request, database_url):
    vhost = Vhost(request)
    values = {"AMQP_URI": vhost.amqp_uri, "DATABASE_URL": database_url,
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}", "serializer": "json", "max_workers": 10}
    with nameko_config.patch(values):
        portal = Portal(values).start()
        yield portal
        portal.stop()
    vhost.delete()


@pytest.fixture(scope="module")
def fuzz_tokens(fuzz_portal):
    firm = fuzz_portal.create_firm()
    api = fuzz_portal.login(firm["admin"]["username"], firm["admin"]["password"])
    return {"staff": api.headers["Authorization"].split()[1], "platform": fuzz_portal.platform_token}


def _operations():
    import gateway.service  # noqa: F401  (registers every route)
    from gateway.openapi import build_document
    schema = schemathesis.openapi.from_dict(build_document())
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


OPERATIONS = _operations()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_makes_a_server_error(label, mode, fuzz_portal, fuzz_tokens):
    operation = OPERATIONS[label]
    headers = {}
    if operation.path.startswith("/api/v1/platform"):
        headers["Authorization"] = f"Bearer {fuzz_tokens['platform']}"
    elif not (operation.path == "/api/v1/session" and operation.method.upper() == "DELETE"):
        # Logging out would end the fuzzer's own session; that route is fuzzed without a token.
        headers["Authorization"] = f"Bearer {fuzz_tokens['staff']}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def check(case):
        response = case.call(base_url=fuzz_portal.url, headers=headers, timeout=60)
        assert response.status_code < 500, \
            f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            body = response.json()
            assert "error" in body and "message" in body

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            pytest.skip("the route takes no input that could be made invalid")
        raise
