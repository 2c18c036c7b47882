"""Directory through the gateway: branches with layout, groups, staff, clients with search and paging."""
import sqlalchemy as sa

from tests.identity.helpers import Firm


def test_branches_groups_and_staff(portal):
    firm = Firm(portal)
    listed = firm.admin.get("/api/v1/branches").json()["items"]
    assert [b["name"] for b in listed] == ["Amsterdam", "Utrecht"]
    created = firm.admin.post("/api/v1/branches", json={"name": "Zwolle", "primary_color": "#00AA00"})
    assert created.status_code == 201, created.text
    bad = firm.admin.patch(f"/api/v1/branches/{created.json()['id']}", json={"primary_color": "groen"})
    assert bad.status_code == 422 and "primary_color" in bad.json()["details"]["fields"]
    not_png = firm.admin.patch(f"/api/v1/branches/{created.json()['id']}", json={"logo_png": "aGFsbG8="})
    assert not_png.status_code == 422

    group = firm.admin.post("/api/v1/groups", json={"name": "Basis", "kind": "client", "rights": ["approval"]})
    assert group.status_code == 201 and group.json()["rights"] == ["approval"]
    assert firm.admin.post("/api/v1/groups", json={"name": "Basis", "kind": "client", "rights": []}).status_code == 409
    no_admin = firm.admin.post("/api/v1/groups", json={"name": "Fout", "kind": "client", "rights": ["admin"]})
    assert no_admin.status_code == 422
    kinds = {g["name"]: g["kind"] for g in firm.admin.get("/api/v1/groups").json()["items"]}
    assert kinds["Basis"] == "client" and kinds["Beheerders"] == "staff"

    utrecht = firm.staff(branch_index=1, rights_group=firm.staff_group())
    me = utrecht["api"].get("/api/v1/me").json()
    assert me["branch"]["id"] == firm.branch_ids[1] and me["firm_wide"] is False
    assert "admin" not in me["rights"] and "approval" in me["rights"]
    # branch staff see their own branch only, and the staff of it plus firm-wide staff
    assert [b["id"] for b in utrecht["api"].get("/api/v1/branches").json()["items"]] == [firm.branch_ids[1]]
    amsterdam = firm.staff(branch_index=0)
    seen = {u["id"] for u in utrecht["api"].get("/api/v1/staff").json()["items"]}
    assert utrecht["id"] in seen and firm.data["admin_user_id"] in seen and amsterdam["id"] not in seen
    # and may not add staff or branches without the admin right
    assert utrecht["api"].post("/api/v1/staff", json={"username": "x-nope-1", "name": "X"}).status_code == 403
    assert utrecht["api"].post("/api/v1/branches", json={"name": "Nope"}).status_code == 403
    # a branch admin manages its own branch's staff, never the firm-wide admin
    branch_admin = firm.staff(branch_index=1, rights_group=firm.staff_group(rights=("admin", "users")))
    assert branch_admin["api"].patch(f"/api/v1/users/{utrecht['id']}", json={"name": "Sam U."}).status_code == 200
    assert branch_admin["api"].patch(f"/api/v1/users/{amsterdam['id']}", json={"active": False}).status_code == 404
    assert branch_admin["api"].patch(f"/api/v1/users/{firm.data['admin_user_id']}",
                                     json={"active": False}).status_code == 403
    assert firm.admin.get("/api/v1/me").status_code == 200
    # the activation code is single use
    again = portal.api().post("/api/v1/activate", json={"username": amsterdam["username"],
                                                       "activation_code": "AAAA-BBBB-CCCC-DDDD",
                                                       "password": "Een ander lang wachtwoord 77"})
    assert again.status_code == 422 and again.json()["error"] == "invalid_activation"


def test_client_fields_are_normalised_validated_and_bsn_masked(portal, db_engine):
    firm = Firm(portal)
    body = {"number": "20001", "name": "Van der Berg Holding B.V.", "legal_form": "BV", "kvk": "00123456",
            "bsn": "111222333", "rsin": "111222333", "vat": "NL000099998B57", "street": "Keizersgracht",
            "house_number": "12a", "postcode": "1015cj", "city": "Amsterdam", "country": "Nederland",
            "email": "info@vdberg.nl", "phone": "020 1234567", "mobile": "0031 6 12345678",
            "contact": "M. van der Berg", "branch_id": firm.branch_ids[0]}
    created = firm.admin.post("/api/v1/clients", json=body)
    assert created.status_code == 201, created.text
    client = created.json()
    assert client["kvk"] == "00123456" and client["postcode"] == "1015 CJ" and client["mobile"] == "+31612345678"
    assert client["bsn"] == "******333"  # shown masked (SPEC §3), also to the staff who typed it
    assert firm.admin.get(f"/api/v1/clients/{client['id']}").json()["bsn"] == "******333"
    fetched = firm.admin.get(f"/api/v1/clients/{client['id']}", params={"show": "bsn"}).json()
    assert fetched["bsn"] == "111222333"  # staff who need it ask for it (and that is logged)
    listed = firm.admin.get("/api/v1/clients", params={"q": "20001"}).json()["items"]
    assert listed[0]["bsn"] == "******333"  # lists show it masked
    with db_engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT bsn_encrypted FROM identity.clients WHERE id = :i"),
                           {"i": client["id"]}).scalar()
    assert b"111222333" not in bytes(raw)

    invalid = firm.admin.post("/api/v1/clients", json={
        "number": "20002", "name": "Fout", "bsn": "123456789", "kvk": "123456789", "postcode": "ABCD 12",
        "mobile": "06 123", "email": "geen-mail", "vat": "NL123"})
    assert invalid.status_code == 422
    assert set(invalid.json()["details"]["fields"]) == {"bsn", "kvk", "postcode", "mobile", "email", "vat"}
    taken = firm.admin.post("/api/v1/clients", json={"number": "20001", "name": "Dubbel"})
    assert taken.status_code == 409 and taken.json()["error"] == "client_number_taken"
    # the same number may exist at another firm
    assert Firm(portal).client(0, number="20001")["number"] == "20001"

    patched = firm.admin.patch(f"/api/v1/clients/{client['id']}", json={"city": "Haarlem", "contact": None,
                                                                       "branch_id": firm.branch_ids[1]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["city"] == "Haarlem" and patched.json()["contact"] is None
    assert patched.json()["branch_id"] == firm.branch_ids[1] and patched.json()["kvk"] == "00123456"
    with db_engine.connect() as conn:
        events = [r.payload for r in conn.execute(sa.text(
            "SELECT payload FROM identity.outbox WHERE event_type IN ('client_created', 'client_updated') "
            "ORDER BY id"))]
    mine = [e for e in events if e["data"]["client_id"] == client["id"]]
    assert [e["event_type"] for e in mine] == ["client_created", "client_updated"]
    assert set(mine[-1]["data"]) == {"client_id", "id", "firm_id", "branch_id", "number", "name"}
    assert mine[-1]["data"]["branch_id"] == firm.branch_ids[1]
    assert "111222333" not in str(events)


def test_client_search_by_name_number_kvk_with_branch_filter_and_paging(portal):
    firm = Firm(portal)
    for i in range(12):
        firm.client(i % 2, number=f"S{i:03d}", name=f"Bloemenhandel {i:02d}", kvk=f"{70000000 + i}")
    firm.client(0, number="Z-777", name="Café Ünïcode", kvk="00004321")
    api = firm.admin
    by_name = api.get("/api/v1/clients", params={"q": "bloemen", "per_page": 5, "page": 1}).json()
    assert by_name["total"] == 12 and len(by_name["items"]) == 5
    page3 = api.get("/api/v1/clients", params={"q": "bloemen", "per_page": 5, "page": 3}).json()
    assert [c["name"] for c in page3["items"]] == ["Bloemenhandel 10", "Bloemenhandel 11"]
    assert page3["total"] == 12
    beyond = api.get("/api/v1/clients", params={"q": "bloemen", "per_page": 5, "page": 9}).json()
    assert beyond["items"] == [] and beyond["total"] == 12
    assert api.get("/api/v1/clients", params={"q": "s011"}).json()["items"][0]["number"] == "S011"
    assert api.get("/api/v1/clients", params={"q": "70000005"}).json()["items"][0]["number"] == "S005"
    assert api.get("/api/v1/clients", params={"q": "0000432"}).json()["items"][0]["number"] == "Z-777"
    assert api.get("/api/v1/clients", params={"q": "cafe unicode"}).json()["total"] == 1
    utrecht = api.get("/api/v1/clients", params={"q": "bloemen", "branch_id": firm.branch_ids[1]}).json()
    assert utrecht["total"] == 6 and {c["branch_id"] for c in utrecht["items"]} == {firm.branch_ids[1]}
    assert api.get("/api/v1/clients", params={"q": "100%_"}).json()["total"] == 0
    assert api.get("/api/v1/clients", params={"per_page": 0}).status_code == 422


def test_a_client_names_its_branch_by_name_as_the_import_does(portal):
    """SPEC §3: a client's fields carry the table's names (branch: Vestiging) plus id and branch_id."""
    firm = Firm(portal)
    created = firm.admin.post("/api/v1/clients", json={"number": "30001", "name": "Bij Naam BV", "branch": "utrecht"})
    assert created.status_code == 201, created.text
    assert created.json()["branch_id"] == firm.branch_ids[1] and created.json()["branch"] == "Utrecht"
    moved = firm.admin.patch(f"/api/v1/clients/{created.json()['id']}", json={"branch": "Amsterdam"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["branch_id"] == firm.branch_ids[0] and moved.json()["branch"] == "Amsterdam"
    assert firm.admin.get(f"/api/v1/clients/{created.json()['id']}").json()["branch"] == "Amsterdam"
    assert firm.admin.get("/api/v1/clients", params={"q": "30001"}).json()["items"][0]["branch"] == "Amsterdam"
    unknown = firm.admin.post("/api/v1/clients", json={"number": "30002", "name": "Nergens BV", "branch": "Zwolle"})
    assert unknown.status_code == 422, unknown.text


def test_the_full_bsn_is_shown_only_to_staff_who_ask_and_each_look_is_logged(portal, caplog):
    from tests.identity.test_users import new_client_user
    firm = Firm(portal)
    client = firm.client(0, bsn="111222333")
    assert client["bsn"] == "******333"
    user, client_api = new_client_user(portal, firm, firm.admin, client["id"], superuser=True)
    assert client_api.get(f"/api/v1/clients/{client['id']}").json()["bsn"] == "******333"
    refused = client_api.get(f"/api/v1/clients/{client['id']}", params={"show": "bsn"})
    assert refused.status_code == 403, refused.text
    with caplog.at_level("INFO", logger="identity.clients"):
        shown = firm.admin.get(f"/api/v1/clients/{client['id']}", params={"show": "bsn"})
    assert shown.status_code == 200 and shown.json()["bsn"] == "111222333"
    [look] = [r for r in caplog.records if r.getMessage() == "bsn revealed"]
    assert (look.user_id, look.client_id) == (firm.data["admin_user_id"], client["id"])
    assert "111222333" not in caplog.text
    assert firm.admin.get(f"/api/v1/clients/{client['id']}", params={"show": "alles"}).status_code == 422
