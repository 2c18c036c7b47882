"""Rows validated by the child process (importer/validator.py) get the answers the worker would give,
and an import never depends on the child: one that dies or answers nonsense is replaced by the worker."""
import orjson
import pytest

from importer import jobs, validator
from importer.validation import ClientRowSchema
from tests.importer.files import csv_bytes
from tests.importer.test_wizard import ROWS

BRANCHES = {"Amsterdam": 1, "Utrecht Centrum": 2}
POSITIONS = {"number": 0, "name": 1, "kvk": 2, "bsn": 3, "postcode": 4, "email": 5, "mobile": 6, "branch": 7}
BATCH = [
    (2, ["000101", "Bakkerij Één", "1234567", "111222333", "1234ab", "Info@X.NL", "06 12345678", "amsterdam"]),
    (3, [None] * 8),  # empty: left out
    (4, ["000102", None, "123456789", "123", "12 AB", "geen-mail", "030 1234567", "Rotterdam"]),
    (5, ["000103", "Kort"]),  # a short row
    (6, ["x" * 60, "Te lang nummer", None, None, None, None, None, "Utrecht Centrum"]),
    (7, [None, "Zonder nummer", None, None, None, None, None, None]),
    (8, ["000104", "Samengevoegd"], "Een aanhalingsteken wordt niet afgesloten."),  # the reader's reason
]


def _inline():
    schema = ClientRowSchema(BRANCHES)
    return validator.validate_cells(schema, POSITIONS, BATCH)


def test_the_child_answers_as_the_worker_does():
    expected = orjson.loads(orjson.dumps(_inline()))  # the wire turns tuples into lists
    batches = validator.BatchValidator(ClientRowSchema(BRANCHES), BRANCHES, POSITIONS, in_child=True)
    try:
        assert batches.in_child
        for _ in range(3):  # more than one batch in flight, answered in order
            batches.submit(BATCH)
        for _ in range(3):
            results, size = batches.next_result()
            assert (results, size) == (expected, len(BATCH))
    finally:
        batches.close()
    assert batches.child is None
    assert [r[0] for r in expected] == [2, 4, 5, 6, 7, 8]
    assert expected[-1][2:] == [{}, {"row": "Een aanhalingsteken wordt niet afgesloten."}]
    assert expected[0][2]["branch_id"] == 1 and expected[1][3]["kvk"] == "Een KvK-nummer bestaat uit 8 cijfers."


def test_a_child_that_dies_is_replaced_by_the_worker():
    expected = _inline()
    batches = validator.BatchValidator(ClientRowSchema(BRANCHES), BRANCHES, POSITIONS, in_child=True)
    try:
        batches.submit(BATCH)
        batches.child.process.kill()
        batches.child.process.wait()
        batches.submit(BATCH)  # written into a dead pipe, or not: either way answered
        assert batches.next_result() == (expected, len(BATCH)) or batches.child is None
        assert batches.next_result() == (expected, len(BATCH))
        assert batches.child is None  # the rest of the file is validated in the worker
        batches.submit(BATCH)
        assert batches.next_result() == (expected, len(BATCH))
    finally:
        batches.close()


def test_a_child_answering_nonsense_is_replaced(monkeypatch):
    batches = validator.BatchValidator(ClientRowSchema(BRANCHES), BRANCHES, POSITIONS, in_child=True)
    try:
        batches.submit(BATCH)
        batches.child.answers.put(b"{kapot\n")  # arrives before the real answer
        assert batches.next_result() == (_inline(), len(BATCH))
        assert batches.child is None
    finally:
        batches.close()


@pytest.mark.parametrize("in_child", [True, False])
def test_the_wizard_previews_the_same_with_and_without_the_child(wizard, monkeypatch, in_child):
    monkeypatch.setattr(jobs, "CHILD_ROWS", 0 if in_child else 10 ** 9)
    monkeypatch.setattr(jobs, "PARSE_BATCH", 2)  # several batches in flight
    started = []
    real_child = validator._Child

    def counting_child(*args):
        started.append(True)
        return real_child(*args)
    monkeypatch.setattr(validator, "_Child", counting_child)
    upload = wizard.upload("klanten.csv", csv_bytes(ROWS, delimiter=";"))
    status = wizard.wait(upload["id"])
    assert status["status"] == "ready", status
    assert bool(started) is in_child
    assert status["summary"] == {"new": 2, "update": 0, "unchanged": 0, "invalid": 2}
    invalid = {r["row"]: r for r in wizard.rows(upload["id"], "invalid")}
    assert set(invalid) == {5, 6}
    assert "Dubbel cliëntnummer" in invalid[5]["errors"]["number"]
    assert invalid[6]["errors"]["kvk"] == "Een KvK-nummer bestaat uit 8 cijfers."
    new = {r["number"]: r for r in wizard.rows(upload["id"], "new")}
    assert new["000101"]["values"]["mobile"] == "+31612345678"
