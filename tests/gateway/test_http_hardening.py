"""Edges a careful API client or a hostile web page would hit: nesting, cookies across sites, OpenAPI errors."""
from tests.gateway.test_http_edges import assert_error

COOKIE = "akkoord_session"


def _admin(portal):
    firm = portal.create_firm()
    api = portal.login(firm["admin"]["username"], firm["admin"]["password"])
    return api, api.headers["Authorization"].split()[1]


def test_deeply_nested_json_is_400_not_500(portal):
    api, _ = _admin(portal)
    for depth in (100, 5000, 100000):
        body = '{"name": ' + "[" * depth + "]" * depth + ', "kind": "client", "rights": []}'
        response = api.post("/api/v1/groups", data=body, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "bad_request")


def test_cookie_alone_does_not_change_state_from_another_site(portal):
    """A page on another site can make the browser send the session cookie (CSRF): the gateway
    only accepts a cookie-authenticated change from its own origin or with X-Requested-With."""
    _, token = _admin(portal)
    anon = portal.api()
    cookies = {COOKIE: token}
    group = {"kind": "client", "rights": []}
    # reading with the cookie keeps working
    assert anon.get("/api/v1/me", cookies=cookies).status_code == 200
    # another origin, no origin at all, or the opaque "null" origin: refused, nothing made
    for headers in ({"Origin": "https://evil.example"}, {}, {"Origin": "null"},
                    {"Referer": "https://evil.example/page"}):
        response = anon.post("/api/v1/groups", json=dict(group, name="csrf"), cookies=cookies, headers=headers)
        assert_error(response, 403, "csrf_refused")
    # an empty-body POST and a multipart upload (what an HTML form can send) are refused too
    assert_error(anon.delete("/api/v1/session", cookies=cookies, headers={"Origin": "https://evil.example"}),
                 403, "csrf_refused")
    assert_error(anon.post("/api/v1/imports", files={"file": ("a.csv", b"Naam\nX\n")}, cookies=cookies,
                           headers={"Origin": "https://evil.example"}), 403, "csrf_refused")
    assert anon.get("/api/v1/me", cookies=cookies).status_code == 200  # the session still lives
    # a read another site's link makes with the cookie (a document opened is recorded as viewed): refused when
    # the browser says it comes from another site; the same read from our own pages, or by bearer, goes
    assert_error(anon.get("/api/v1/me", cookies=cookies, headers={"Sec-Fetch-Site": "cross-site"}),
                 403, "csrf_refused")
    assert anon.get("/api/v1/me", cookies=cookies, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert portal.api(token).get("/api/v1/me", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
    names = [g["name"] for g in anon.get("/api/v1/groups", cookies=cookies).json()["items"]]
    assert "csrf" not in names
    # the portal's own pages: same origin, or a custom header no other site can set without CORS
    host = portal.url.split("://", 1)[1].rstrip("/")
    same = anon.post("/api/v1/groups", json=dict(group, name="eigen pagina"), cookies=cookies,
                     headers={"Origin": f"http://{host}"})
    assert same.status_code == 201, same.text
    xhr = anon.post("/api/v1/groups", json=dict(group, name="xhr"), cookies=cookies,
                    headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 201, xhr.text
    # a bearer token is never sent by a browser on its own: no origin needed
    bearer = portal.api(token).post("/api/v1/groups", json=dict(group, name="bearer"),
                                    headers={"Origin": "https://evil.example"})
    assert bearer.status_code == 201, bearer.text


def test_openapi_lists_the_error_statuses_a_route_can_answer(portal):
    document = portal.api().get("/api/v1/openapi.json").json()
    pdf = document["paths"]["/api/v1/letters/{batch_id}/pdf"]["get"]["responses"]
    assert {"401", "404", "409", "410", "503"} <= set(pdf)
    groups = document["paths"]["/api/v1/groups"]["post"]["responses"]
    assert {"201", "400", "401", "403", "413", "415", "422"} <= set(groups)
    for status in ("409", "410", "413", "415"):
        assert pdf.get(status, groups.get(status))["content"]["application/json"]["schema"]["required"] \
            == ["error", "message"]


def test_wrong_method_on_a_known_path_is_405_with_allow(portal):
    api, _ = _admin(portal)
    for method, path, allowed in (("put", "/api/v1/me", {"GET", "HEAD"}), ("post", "/healthz", {"GET", "HEAD"}),
                                  ("delete", "/api/v1/letters/1", {"GET", "HEAD"}),
                                  ("get", "/api/v1/session", {"POST", "DELETE"})):
        response = getattr(api, method)(path)
        assert_error(response, 405, "method_not_allowed")
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}, response.headers
    # OPTIONS says what a path allows; an unknown path stays 404
    response = portal.api().options("/api/v1/clients")
    assert response.status_code == 204
    assert {"GET", "POST", "OPTIONS"} <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert_error(portal.api().options("/api/v1/bestaat-niet"), 404, "not_found")
    assert_error(api.put("/api/v1/bestaat-niet"), 404, "not_found")


def test_a_chunked_json_body_is_read_and_bounded(portal):
    """Without Content-Length (Transfer-Encoding: chunked) the body must not silently count as empty."""
    api, _ = _admin(portal)
    body = b'{"name": "in stukjes", "kind": "client", "rights": []}'
    response = api.post("/api/v1/groups", data=iter([body[:10], body[10:]]),
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "in stukjes"
    huge = iter([b'{"name": "', b"a" * (2 * 1024 * 1024), b'"}'])
    assert_error(api.post("/api/v1/groups", data=huge, headers={"Content-Type": "application/json"}),
                 413, "too_large")


def test_cookie_change_from_the_public_address_behind_a_proxy(portal, monkeypatch):
    """Behind an ingress that sets its own Host header (a rewritten upstream host), the browser's
    Origin is the public address in AKKOORD_PUBLIC_URL: that origin counts as our own, with its scheme."""
    _, token = _admin(portal)
    anon = portal.api()
    cookies = {COOKIE: token}
    group = {"kind": "client", "rights": []}
    monkeypatch.setenv("AKKOORD_PUBLIC_URL", "https://portaal.kantoor.example/")
    ours = anon.post("/api/v1/groups", json=dict(group, name="via ingress"), cookies=cookies,
                     headers={"Origin": "https://portaal.kantoor.example"})
    assert ours.status_code == 201, ours.text
    referred = anon.post("/api/v1/groups", json=dict(group, name="via ingress 2"), cookies=cookies,
                         headers={"Referer": "https://portaal.kantoor.example/clients?page=2"})
    assert referred.status_code == 201, referred.text
    # the same host over plain http, a look-alike host, or another port is not the public address
    for origin in ("http://portaal.kantoor.example", "https://portaal.kantoor.example.evil.example",
                   "https://portaal.kantoor.example:8443"):
        response = anon.post("/api/v1/groups", json=dict(group, name="elders"), cookies=cookies,
                             headers={"Origin": origin})
        assert_error(response, 403, "csrf_refused")
    names = [g["name"] for g in anon.get("/api/v1/groups", cookies=cookies).json()["items"]]
    assert "elders" not in names and {"via ingress", "via ingress 2"} <= set(names)
