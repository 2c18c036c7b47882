"""Vestigingenbeheer (multi_branch) is a firm option (SPEC §1, §3): only a firm that has it hides the clients of
one branch from the staff of another. Without it, branches are just addresses and every employee sees the
firm's clients."""
from tests.identity.helpers import Firm


def test_without_multi_branch_branch_staff_see_every_client(portal):
    firm = Firm(portal, multi_branch=False)
    a, b = firm.client(0), firm.client(1)
    staff = firm.staff(branch_index=0)
    api = staff["api"]
    assert api.get(f"/api/v1/clients/{b['id']}").status_code == 200
    assert {c["id"] for c in api.get("/api/v1/clients").json()["items"]} >= {a["id"], b["id"]}
    assert portal.rpc.identity.client_scope(staff["principal"], b["id"])["id"] == b["id"]
    assert api.patch(f"/api/v1/clients/{b['id']}", json={"city": "Gouda"}).status_code == 200
    assert api.get("/api/v1/me").json()["firm_wide"] is True
    assert staff["principal"]["branch_id"] is None  # what every other service enforces scope with


def test_with_multi_branch_branch_staff_see_their_branch_only(portal):
    firm = Firm(portal, multi_branch=True)
    a, b = firm.client(0), firm.client(1)
    staff = firm.staff(branch_index=0)
    api = staff["api"]
    assert api.get(f"/api/v1/clients/{a['id']}").status_code == 200
    assert api.get(f"/api/v1/clients/{b['id']}").status_code == 404
    assert api.get("/api/v1/me").json()["firm_wide"] is False
    assert staff["principal"]["branch_id"] == firm.branch_ids[0]
