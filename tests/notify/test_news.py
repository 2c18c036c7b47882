"""News (GET/POST /api/v1/news): staff post to one branch or firm-wide; client users see firm-wide news
and that of their clients' branches, newest first; staff of another branch don't see branch-only news."""
import pytest

from tests.notify.conftest import wait_for
from tests.notify.helpers import Firm, envelope, publish


def titles(api):
    response = api.get("/api/v1/news")
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def post(api, title, **extra):
    response = api.post("/api/v1/news", json={"title": title, "body": f"Tekst van {title}.", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_news_visibility_by_branch_and_client(outbox_portal):
    firm = Firm(outbox_portal, branches=["Amsterdam", "Utrecht"])
    amsterdam_id, utrecht_id = firm.branch_ids
    amsterdam = firm.staff(branch_index=0, name="Sanne Amsterdam")
    utrecht = firm.staff(branch_index=1, name="Umut Utrecht")

    post(firm.admin, "Kantoor dicht op Koningsdag", branch_id=None)
    post(firm.admin, "Nieuwe parkeerplaats Utrecht", branch_id=utrecht_id)
    own = post(amsterdam["api"], "Borrel Amsterdam")  # no branch chosen: the poster's own branch
    assert own["branch_id"] == amsterdam_id

    # newest first; firm-wide staff see everything
    assert titles(firm.admin) == ["Borrel Amsterdam", "Nieuwe parkeerplaats Utrecht", "Kantoor dicht op Koningsdag"]
    assert titles(amsterdam["api"]) == ["Borrel Amsterdam", "Kantoor dicht op Koningsdag"]
    assert titles(utrecht["api"]) == ["Nieuwe parkeerplaats Utrecht", "Kantoor dicht op Koningsdag"]

    client = firm.client(branch_index=0)
    cor = firm.client_user(client["id"], name="Cor Klant")
    assert titles(cor["api"]) == ["Borrel Amsterdam", "Kantoor dicht op Koningsdag"]
    body = cor["api"].get("/api/v1/news").json()
    assert body["total"] == 2 and body["items"][0]["body"] == "Tekst van Borrel Amsterdam."

    # the client moves to Utrecht: identity's client_updated event updates what its users see
    assert outbox_portal.rpc.identity.update_client(principal=firm.admin_principal, client_id=client["id"],
                                                    payload={"branch_id": utrecht_id})["branch_id"] == utrecht_id
    wait_for(lambda: titles(cor["api"]) == ["Nieuwe parkeerplaats Utrecht", "Kantoor dicht op Koningsdag"])


def test_branch_staff_cannot_post_elsewhere_and_clients_cannot_post(outbox_portal):
    firm = Firm(outbox_portal, branches=["Amsterdam", "Utrecht"])
    amsterdam = firm.staff(branch_index=0)
    other = firm.staff(branch_index=None, rights=())  # firm-wide, without the news right

    response = amsterdam["api"].post("/api/v1/news", json={"title": "x", "body": "y", "branch_id": firm.branch_ids[1]})
    assert response.status_code == 404
    response = amsterdam["api"].post("/api/v1/news", json={"title": "x", "body": "y", "branch_id": None})
    assert response.status_code == 403
    assert other["api"].post("/api/v1/news", json={"title": "x", "body": "y"}).status_code == 403

    stranger = Firm(outbox_portal, branches=["Elders"])
    response = firm.admin.post("/api/v1/news", json={"title": "x", "body": "y", "branch_id": stranger.branch_ids[0]})
    assert response.status_code == 404  # another firm's branch is not visible

    client = firm.client()
    cor = firm.client_user(client["id"])
    assert cor["api"].post("/api/v1/news", json={"title": "x", "body": "y"}).status_code == 403
    assert firm.admin.post("/api/v1/news", json={"title": "", "body": "y"}).status_code == 422
    assert titles(firm.admin) == []
    assert titles(stranger.admin) == []


def test_news_of_other_firms_is_never_shown(outbox_portal):
    one, two = Firm(outbox_portal), Firm(outbox_portal)
    post(one.admin, "Alleen voor kantoor één", branch_id=None)
    assert titles(two.admin) == []


def test_client_mapping_from_events_without_asking_identity(outbox_portal):
    """A client known from identity's events is placed by the local copy; an older event never wins."""
    firm = Firm(outbox_portal, branches=["Amsterdam", "Utrecht"])
    post(firm.admin, "Utrecht-nieuws", branch_id=firm.branch_ids[1])
    principal = {"kind": "client", "firm_id": firm.id, "user_id": 424242, "client_ids": [987654],
                 "rights": ["news"]}
    newer = envelope("client_updated", {"client_id": 987654, "firm_id": firm.id, "branch_id": firm.branch_ids[1],
                                        "number": "X1", "name": "X"})
    older = envelope("client_created", {"client_id": 987654, "firm_id": firm.id, "branch_id": firm.branch_ids[0],
                                        "number": "X1", "name": "X"})
    older["occurred_at"] = "2020-01-01T00:00:00Z"
    publish("identity", newer)
    publish("identity", older)
    wait_for(lambda: [i["title"] for i in outbox_portal.rpc.notify.list_news(principal=principal)["items"]]
             == ["Utrecht-nieuws"])


def test_an_import_batch_places_its_clients_in_one_event(outbox_portal, db_engine):
    """identity's ``clients_imported`` (one per import batch) fills the local copy like single events do,
    and an older batch never moves a client back."""
    import sqlalchemy as sa

    from notify.models import ClientBranch

    firm = Firm(outbox_portal, branches=["Amsterdam", "Utrecht"])
    post(firm.admin, "Utrecht-nieuws", branch_id=firm.branch_ids[1])
    amsterdam, utrecht = firm.branch_ids
    ids = [977001, 977002, 977003]
    publish("identity", envelope("client_updated", {"client_id": ids[2], "firm_id": firm.id, "branch_id": utrecht,
                                                    "number": "C", "name": "C"}))
    batch = envelope("clients_imported", {
        "firm_id": firm.id, "import_id": 5,
        "created": [{"client_id": ids[0], "branch_id": utrecht, "number": "A", "name": "A"},
                    {"client_id": ids[1], "branch_id": amsterdam, "number": "B", "name": "B"}],
        "updated": [{"client_id": ids[2], "branch_id": amsterdam, "number": "C", "name": "C"}]})
    batch["occurred_at"] = "2020-01-01T00:00:00Z"  # older than the single event about client C
    publish("identity", batch)

    def places():
        with db_engine.connect() as conn:
            return dict(conn.execute(sa.select(ClientBranch.client_id, ClientBranch.branch_id)
                                     .where(ClientBranch.client_id.in_(ids))).all())
    wait_for(lambda: places() == {ids[0]: utrecht, ids[1]: amsterdam, ids[2]: utrecht})
    principal = {"kind": "client", "firm_id": firm.id, "user_id": 424243, "client_ids": [ids[0]],
                 "rights": ["news"]}
    assert [i["title"] for i in outbox_portal.rpc.notify.list_news(principal=principal)["items"]] == ["Utrecht-nieuws"]


@pytest.mark.parametrize("query", [{"page": 0}, {"per_page": 1000}])
def test_bad_paging_is_422(outbox_portal, query):
    firm = Firm(outbox_portal)
    assert firm.admin.get("/api/v1/news", params=query).status_code == 422


def test_client_unknown_to_the_local_copy_is_asked_of_identity(outbox_portal, db_engine):
    import sqlalchemy as sa

    from notify.models import ClientBranch

    firm = Firm(outbox_portal, branches=["Amsterdam", "Utrecht"])
    post(firm.admin, "Utrecht-nieuws", branch_id=firm.branch_ids[1])
    post(firm.admin, "Amsterdam-nieuws", branch_id=firm.branch_ids[0])
    client = firm.client(branch_index=1)
    cor = firm.client_user(client["id"])
    wait_for(lambda: titles(cor["api"]) == ["Utrecht-nieuws"])
    with db_engine.begin() as conn:  # as if notify never saw identity's client_created event
        conn.execute(sa.delete(ClientBranch.__table__).where(ClientBranch.client_id == client["id"]))
    assert titles(cor["api"]) == ["Utrecht-nieuws"]  # asked identity's client_scope, and remembered it
    with db_engine.connect() as conn:
        row = conn.execute(sa.select(ClientBranch.__table__).where(ClientBranch.client_id == client["id"])).one()
    assert row.branch_id == firm.branch_ids[1]
