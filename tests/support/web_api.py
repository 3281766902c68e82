"""The HTTP API checks both tiers run: integration/test_web_api.py over real HTTP on the
real engine, unit/test_web_api.py in-process over test-hash. Each ``check_*`` takes the
client (an ``httpx.Client``; FastAPI's ``TestClient`` is one) and holds the assertions."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from rag.archive import Archive
from rag.config import Settings
from rag.index.store import CURRENT
from rag.records import BuildReport
from rag.web.app import MAX_BODY_BYTES, VERSION_HEADER
from support.sample import QUESTION

# (query parameters, status, words the error must hold): for GET and POST on both routes
BAD_PARAMETERS: list[tuple[dict[str, object], int, str]] = [
    ({}, 422, "q"),
    ({"q": ""}, 422, "q"),
    ({"q": "   "}, 400, "empty"),
    ({"q": "x" * 1001}, 422, "1000"),
    ({"q": QUESTION, "k": 51}, 422, "50"),
    ({"q": QUESTION, "k": 0}, 422, "k"),
    ({"q": QUESTION, "k": "many"}, 422, "k"),
    ({"q": QUESTION, "mode": "fuzzy"}, 422, "mode"),
    ({"q": QUESTION, "since": "last week"}, 400, "YYYY-MM-DD"),
    ({"q": QUESTION, "per_article": -1}, 422, "per_article"),
    ({"q": QUESTION, "debug": "1"}, 422, "debug"),
]

# the routes a server without an index answers with a 503
MISSING_INDEX_ROUTES = ("/api/health", f"/api/search?q={QUESTION}", "/api/articles/x")


def check_health(client: httpx.Client, index: tuple[Settings, BuildReport], embedder: str) -> None:
    settings, report = index
    response = client.get("/api/health")
    assert response.status_code == 200
    data = response.json()
    live = (settings.index_dir / CURRENT).read_text().strip()
    assert data["version"] == live == response.headers[VERSION_HEADER]
    assert (data["articles"], data["passages"]) == (report.articles, report.passages)
    assert data["embedder"] == embedder
    # named as rag index stats names them: the files read, and the outlets
    stats = Archive(settings).stats()
    assert data["source_files"] == stats.source_files == 5
    assert data["sources"] == [
        {"name": "rfi.fr", "articles": 4},
        {"name": "voachinese.com", "articles": 1},
    ]
    assert [(s["name"], s["articles"]) for s in data["sources"]] == [
        (s.name, s.articles) for s in stats.sources
    ]


def check_post_takes_the_same_parameters_as_get(client: httpx.Client) -> None:
    params = {"q": QUESTION, "k": 4, "mode": "keyword", "per_article": 1}
    got = client.get("/api/search", params=params).json()
    posted = client.post("/api/search", json=params).json()
    assert got == posted
    assert got["mode"] == "keyword" and len(got["hits"]) == 4
    assert len({h["article_id"] for h in got["hits"]}) == 4  # per_article=1


def check_filters_restrict_by_source_and_date(client: httpx.Client) -> None:
    by_source = client.get("/api/search", params={"q": QUESTION, "source": "rfi"}).json()
    assert by_source["hits"] and all("rfi" in h["source"] for h in by_source["hits"])
    assert by_source["filters"]["source"] == "rfi"
    future = client.get("/api/search", params={"q": QUESTION, "since": "2099-01-01"}).json()
    assert future["hits"] == [] and future["notice"] == "no article matches the filters"
    window = client.get(
        "/api/search", params={"q": QUESTION, "since": "2023-11-15", "until": "2023-11-15"}
    ).json()
    assert window["hits"] and all(h["published"].startswith("2023-11-15") for h in window["hits"])


def check_bad_parameters(
    client: httpx.Client, params: dict[str, object], status: int, words: str
) -> None:
    for route in ("/api/search", "/api/ask"):
        response = client.get(route, params=params)  # type: ignore[arg-type]
        assert response.status_code == status, response.text
        assert words in response.json()["error"]
        posted = client.post(route, json=params)
        assert posted.status_code == status and "error" in posted.json()


def check_a_big_body_is_a_413(client: httpx.Client) -> None:
    big = {"q": QUESTION, "source": "x" * MAX_BODY_BYTES}
    response = client.post("/api/search", json=big)
    assert response.status_code == 413 and "error" in response.json()


def check_a_broken_body_is_a_422(client: httpx.Client) -> None:
    broken = client.post(
        "/api/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and "error" in broken.json()


def check_unknown_things_are_json_404s(client: httpx.Client) -> None:
    missing = client.get("/api/articles/no-such-article")
    assert missing.status_code == 404 and "no-such-article" in missing.json()["error"]
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    wrong_method = client.delete("/api/search")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def check_missing_index_is_a_503(get: Callable[[str], httpx.Response]) -> None:
    """``get(route)`` asks a server that has no index."""
    for route in MISSING_INDEX_ROUTES:
        response = get(route)
        assert response.status_code == 503
        assert "build one with 'rag index build" in response.json()["error"]


def check_openapi_schema_describes_the_routes(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/ask", "/api/articles/{article_id}", "/api/health"} <= set(
        schema["paths"]
    )
    assert set(schema["paths"]["/api/search"]) == {"get", "post"}
    k = next(p for p in schema["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "k")
    assert "50" in json.dumps(k)


def check_page_and_assets_are_local_with_a_strict_policy(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace('content="width', "")  # nothing from the internet
    for asset in ("/static/app.js", "/static/style.css"):
        response = client.get(asset)
        assert response.status_code == 200 and response.headers["x-content-type-options"]
    script = client.get("/static/app.js").text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "Noto Sans CJK SC" in client.get("/static/style.css").text
