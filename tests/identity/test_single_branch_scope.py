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


def test_without_multi_branch_a_new_client_belongs_to_its_makers_branch(portal):
    """Branches still print the letters (their letterhead and address): a client made, or imported, by an
    employee of Utrecht without naming a branch belongs to Utrecht, not to whichever branch came first."""
    import uuid
    firm = Firm(portal, multi_branch=False)
    utrecht = firm.staff(branch_index=1)
    made = utrecht["api"].post("/api/v1/clients", json={"number": f"U{uuid.uuid4().hex[:6]}", "name": "Utrechts BV"})
    assert made.status_code == 201, made.text
    assert made.json()["branch_id"] == firm.branch_ids[1]
    number = f"I{uuid.uuid4().hex[:6]}"
    result = portal.rpc.identity.upsert_clients(utrecht["principal"], [{"number": number, "name": "Geïmporteerd BV"}])
    assert result["created"] == 1, result
    [imported] = utrecht["api"].get("/api/v1/clients", params={"q": number}).json()["items"]
    assert imported["branch_id"] == firm.branch_ids[1]
    # naming a branch still wins, and a firm-wide employee without a branch keeps the first one
    named = utrecht["api"].post("/api/v1/clients", json={"number": f"N{uuid.uuid4().hex[:6]}", "name": "Elders BV",
                                                         "branch_id": firm.branch_ids[0]})
    assert named.json()["branch_id"] == firm.branch_ids[0]
    admin_made = firm.admin.post("/api/v1/clients", json={"number": f"A{uuid.uuid4().hex[:6]}", "name": "Admin BV"})
    assert admin_made.json()["branch_id"] == firm.branch_ids[0]
