"""Scope of an import: the branch chosen at upload, the rows chosen at commit, and who sees the import
after a colleague committed it."""
from tests.importer.conftest import Wizard
from tests.importer.files import csv_bytes
from tests.importer.test_wizard import _branch_staff

HEADERS = ["Cliëntnummer", "Naam", "Vestiging"]


def _as(wizard, api):
    other = Wizard.__new__(Wizard)
    other.api, other.portal, other.firm = api, wizard.portal, wizard.firm
    return other


def test_upload_for_a_branch_outside_the_firm_is_refused(wizard):
    stranger = Wizard(wizard.portal)
    foreign = stranger.firm["branch_ids"][0]
    for branch_id in (foreign, 987654321):
        response = wizard.api.post("/api/v1/imports", files={"file": ("k.csv", csv_bytes(
            [["000101", "Bakkerij", ""]], headers=HEADERS))}, data={"branch_id": str(branch_id)})
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "branch_not_found"
    assert wizard.api.get("/api/v1/imports").json()["items"] == []
    # a branch of the firm itself is fine
    own = wizard.upload("k.csv", csv_bytes([["000101", "Bakkerij", ""]], headers=HEADERS),
                        branch_id=str(wizard.firm["branch_ids"][1]))
    assert wizard.wait(own["id"])["summary"]["new"] == 1


def test_branch_staff_cannot_upload_for_another_branch(wizard):
    amsterdam, utrecht = wizard.firm["branch_ids"]
    vera = _as(wizard, _branch_staff(wizard, amsterdam))
    response = vera.api.post("/api/v1/imports", files={"file": ("k.csv", csv_bytes(
        [["000101", "Bakkerij", ""]], headers=HEADERS))}, data={"branch_id": str(utrecht)})
    assert response.status_code == 404, response.text


def test_choosing_rows_that_cannot_be_committed_is_refused(wizard):
    rows = [["000111", "Goed BV", ""], ["000112", "Onbekend", "Rotterdam"], ["000113", "Ook goed", ""]]
    upload = wizard.upload("keuze.csv", csv_bytes(rows, headers=HEADERS))
    assert wizard.wait(upload["id"])["summary"] == {"new": 2, "update": 0, "unchanged": 0, "invalid": 1}
    for chosen, bad in (([2, 3], [3]), ([2, 99], [99]), ([], [])):
        response = wizard.api.post(f"/api/v1/imports/{upload['id']}/commit", json={"rows": chosen})
        assert response.status_code == 422, (chosen, response.text)
        assert [int(n) for n in response.json()["details"]["rows"]] == bad, response.json()
    assert wizard.api.get(f"/api/v1/imports/{upload['id']}").json()["status"] == "ready"
    assert wizard.clients() == {}
    wizard.commit(upload["id"], rows=[2, 4])
    assert wizard.wait(upload["id"], ("done", "failed"))["result"]["created"] == 2
    assert set(wizard.clients()) == {"000111", "000113"}


def test_committing_twice_is_a_conflict(wizard):
    upload = wizard.upload("twee.csv", csv_bytes([["000121", "Eenmaal", ""]], headers=HEADERS))
    wizard.wait(upload["id"])
    wizard.commit(upload["id"])
    again = wizard.api.post(f"/api/v1/imports/{upload['id']}/commit", json={"rows": "all"})
    assert again.status_code == 409 and again.json()["error"] == "import_not_ready"
    assert wizard.wait(upload["id"], ("done", "failed"))["result"]["created"] == 1


def test_a_branch_import_committed_by_the_firm_admin_keeps_its_branch_scope(wizard):
    amsterdam, utrecht = wizard.firm["branch_ids"]
    first = wizard.upload("utrecht.csv", csv_bytes([["000131", "In Utrecht", "Utrecht"]], headers=HEADERS))
    wizard.wait(first["id"])
    wizard.commit(first["id"])
    assert wizard.wait(first["id"], ("done",))["result"]["created"] == 1

    vera = _as(wizard, _branch_staff(wizard, amsterdam))
    upload = vera.upload("vera.csv", csv_bytes([["000131", "Overschreven", ""], ["000132", "Eigen", ""]],
                                               headers=HEADERS))
    # 000131 is Utrecht's: Vera's preview says so (and no more about that client), not "new"
    assert vera.wait(upload["id"])["summary"] == {"new": 1, "update": 0, "unchanged": 0, "invalid": 1}
    [row] = vera.api.get(f"/api/v1/imports/{upload['id']}/rows", params={"status": "invalid"}).json()["items"]
    assert row["errors"] == {"number": "Dit cliëntnummer hoort bij een cliënt van een andere vestiging."}
    wizard.commit(upload["id"])  # the firm admin commits Vera's import
    done = wizard.wait(upload["id"], ("done", "failed"))
    # committed as previewed, within Vera's branch: Utrecht's client is not touched
    assert wizard.clients()["000131"]["name"] == "In Utrecht"
    assert wizard.clients()["000132"]["branch_id"] == amsterdam
    assert done["result"]["created"] == 1 and done["result"]["failed"] == 0
    # and Vera still follows her own import
    assert vera.api.get(f"/api/v1/imports/{upload['id']}").status_code == 200
