"""Remote errors arrive in the gateway as local classes through nameko's registry."""
from nameko.exceptions import RemoteError, deserialize, serialize

import gateway.service  # noqa: F401  (registers every route module's error table)
from gateway.errors import ERROR_TABLE, RemoteDomainError, from_exception


def test_registered_remote_error_becomes_a_local_class():
    from identity.exceptions import InvalidCredentials  # only to produce what identity would send
    wire = serialize(InvalidCredentials("Gebruikersnaam of wachtwoord onjuist.", {}))
    local = deserialize(wire)
    assert isinstance(local, RemoteDomainError)
    assert not isinstance(local, InvalidCredentials)  # the gateway does not import identity's class
    assert (local.status, local.code, local.message) == (401, "invalid_credentials",
                                                         "Gebruikersnaam of wachtwoord onjuist.")
    response = from_exception(local)
    assert response.status_code == 401 and b'"invalid_credentials"' in response.data


def test_unknown_remote_error_is_a_500_without_details():
    local = deserialize({"exc_path": "elsewhere.Boom", "exc_type": "Boom", "value": "secret internals",
                         "exc_args": []})
    assert isinstance(local, RemoteError)
    response = from_exception(local)
    assert response.status_code == 500 and b"secret internals" not in response.data


def test_every_service_exception_is_in_the_error_table():
    import importlib
    import inspect

    from chassis.errors import AkkoordError
    from chassis.migrations import SERVICE_PACKAGES

    missing = []
    for package in SERVICE_PACKAGES.values():
        try:
            module = importlib.import_module(f"{package}.exceptions")
        except ImportError:
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, AkkoordError) and cls.__module__ == module.__name__:
                path = f"{module.__name__}.{name}"
                if path not in ERROR_TABLE:
                    missing.append(path)
                elif ERROR_TABLE[path][0] != cls.status:
                    missing.append(f"{path} (status {ERROR_TABLE[path][0]} != {cls.status})")
    assert not missing, f"not mapped in gateway/routes/*.py: {missing}"


def test_a_service_relays_another_services_error_under_its_own_path():
    # What filing receives from approval, and sends on to the gateway unchanged.
    wire = {"exc_path": "approval.exceptions.SomethingNew", "exc_type": "SomethingNew",
            "exc_args": ["Dit kan niet.", {"status": "pending"}], "value": "Dit kan niet."}
    relayed = deserialize(wire)
    assert relayed.message == "Dit kan niet." and relayed.details == {"status": "pending"}
    again = serialize(relayed)
    assert again["exc_path"] == "approval.exceptions.SomethingNew"
    assert again["exc_args"] == ["Dit kan niet.", {"status": "pending"}]
    # a mapped error keeps its path too when relayed in the same process
    mapped = deserialize(serialize(deserialize({"exc_path": "identity.exceptions.InvalidCredentials",
                                                "exc_args": ["x", {}]})))
    assert serialize(mapped)["exc_path"] == "identity.exceptions.InvalidCredentials"


def test_details_keep_their_json_types_across_rpc():
    """nameko would send every number, boolean and null in an error's details as text."""
    from chassis.errors import Conflict
    details = {"filing_id": 7, "retry_after": 30.5, "valid": False, "seq": None,
               "user_ids": [3, 4], "nested": {"count": 2, "name": "x"}}
    local = deserialize(serialize(Conflict("Al gedeponeerd.", details)))
    assert local.details == details
    body = from_exception(local).get_json()
    assert body["details"] == details


def test_a_method_an_older_replica_lacks_is_503_not_500():
    """A rolling upgrade: the new gateway calls a method an old replica of the service does not have yet."""
    import json as _json

    from nameko.exceptions import MethodNotFound, RemoteError

    from gateway.errors import from_exception
    for exc in (MethodNotFound("identity.change_password"),
                RemoteError("MethodNotFound", "identity.change_password")):
        response = from_exception(exc)
        assert response.status_code == 503
        assert _json.loads(response.get_data())["error"] == "unavailable"
