"""The HTTP API's shapes in-process (FastAPI's TestClient) over the test-hash sample index:
health, parameters, errors, limits, schema, page; and ``rag serve``'s checks before it
listens. The same API over real HTTP on the real engine is in integration/test_web_api.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.sample import QUESTION
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app as cli_app
from rag.config import Settings
from rag.index.store import CURRENT
from rag.records import BuildReport
from rag.web.app import MAX_BODY_BYTES, VERSION_HEADER, create_app
from rag.web.server import free_port

# the app answers to the loopback names only, not to TestClient's default "testserver"
LOOPBACK = "http://127.0.0.1"


@pytest.fixture(scope="module")
def client(hash_index: tuple[Settings, BuildReport]) -> Iterator[TestClient]:
    with TestClient(create_app(hash_index[0]), base_url=LOOPBACK) as c:
        yield c


def test_the_app_serves_one_archive_opened_from_its_settings(
    hash_index: tuple[Settings, BuildReport],
) -> None:
    settings = hash_index[0]
    app = create_app(settings)
    archive = app.state.archive
    assert isinstance(archive, Archive) and archive.settings == settings
    assert archive.index_dir == settings.index_dir


def test_serve_warns_when_not_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "rag.web.server.serve", lambda settings, host, port: calls.append((host, port))
    )
    runner = CliRunner()
    local = runner.invoke(cli_app, ["serve", "--port", "9999"])
    assert local.exit_code == 0 and "warning" not in local.stderr
    port = free_port("0.0.0.0")
    public = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", str(port)])
    assert public.exit_code == 0 and "warning" in public.stderr
    assert calls == [("127.0.0.1", 9999), ("0.0.0.0", port)]
    assert "Serve the HTTP API" in runner.invoke(cli_app, ["serve", "--help"]).stdout


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--http"]])
def test_a_port_in_use_is_one_line_before_anything_loads(command: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli_app, [*command, "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "another server is running there, pick another --port"
    )


def test_health_reports_live_version_and_counts_plumbing(
    client: TestClient, hash_index: tuple[Settings, BuildReport]
) -> None:
    settings, report = hash_index
    response = client.get("/api/health")
    assert response.status_code == 200
    data = response.json()
    live = (settings.index_dir / CURRENT).read_text().strip()
    assert data["version"] == live == response.headers[VERSION_HEADER]
    assert (data["articles"], data["passages"]) == (report.articles, report.passages)
    assert data["embedder"] == "test-hash"


def test_post_takes_the_same_parameters_as_get_plumbing(client: TestClient) -> None:
    params = {"q": QUESTION, "k": 4, "mode": "keyword", "per_article": 1}
    got = client.get("/api/search", params=params).json()
    posted = client.post("/api/search", json=params).json()
    assert got == posted
    assert got["mode"] == "keyword" and len(got["hits"]) == 4
    assert len({h["article_id"] for h in got["hits"]}) == 4  # per_article=1


def test_filters_restrict_by_source_and_date_plumbing(client: TestClient) -> None:
    by_source = client.get("/api/search", params={"q": QUESTION, "source": "rfi"}).json()
    assert by_source["hits"] and all("rfi" in h["source"] for h in by_source["hits"])
    assert by_source["filters"]["source"] == "rfi"
    future = client.get("/api/search", params={"q": QUESTION, "since": "2099-01-01"}).json()
    assert future["hits"] == [] and future["notice"] == "no article matches the filters"
    window = client.get(
        "/api/search", params={"q": QUESTION, "since": "2023-11-15", "until": "2023-11-15"}
    ).json()
    assert window["hits"] and all(h["published"].startswith("2023-11-15") for h in window["hits"])


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
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
    ],
)
def test_bad_parameters_get_a_json_4xx_plumbing(
    client: TestClient, params: dict[str, object], status: int, words: str
) -> None:
    for route in ("/api/search", "/api/ask"):
        response = client.get(route, params=params)  # type: ignore[arg-type]
        assert response.status_code == status, response.text
        assert words in response.json()["error"]
        posted = client.post(route, json=params)
        assert posted.status_code == status and "error" in posted.json()


def test_bodies_are_bounded_and_must_be_json_plumbing(client: TestClient) -> None:
    big = {"q": QUESTION, "source": "x" * MAX_BODY_BYTES}
    response = client.post("/api/search", json=big)
    assert response.status_code == 413 and "error" in response.json()
    broken = client.post(
        "/api/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and "error" in broken.json()


def test_unknown_things_are_json_404s_plumbing(client: TestClient) -> None:
    missing = client.get("/api/articles/no-such-article")
    assert missing.status_code == 404 and "no-such-article" in missing.json()["error"]
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    wrong_method = client.delete("/api/search")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def test_missing_index_is_a_503_that_says_how_to_build_one_plumbing(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path / "none")), base_url=LOOPBACK) as client:
        for route in ("/api/health", f"/api/search?q={QUESTION}", "/api/articles/x"):
            response = client.get(route)
            assert response.status_code == 503
            assert "build one with 'rag index build" in response.json()["error"]


def test_openapi_schema_describes_the_routes_plumbing(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/ask", "/api/articles/{article_id}", "/api/health"} <= set(
        schema["paths"]
    )
    assert set(schema["paths"]["/api/search"]) == {"get", "post"}
    k = next(p for p in schema["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "k")
    assert "50" in json.dumps(k)


def test_page_and_assets_are_served_locally_with_a_strict_policy_plumbing(
    client: TestClient,
) -> None:
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
