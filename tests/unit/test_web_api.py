"""The HTTP API's shapes in-process (FastAPI's TestClient) over the test-hash sample index:
health, parameters, errors, limits, schema, page; and ``rag serve``'s checks before it
listens. The same API over real HTTP on the real engine is in integration/test_web_api.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from support import web_api
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app as cli_app
from rag.config import Settings
from rag.records import BuildReport
from rag.web.app import create_app
from rag.web.guards import RequestLimit
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
    web_api.check_health(client, hash_index, "test-hash")


def test_post_takes_the_same_parameters_as_get_plumbing(client: TestClient) -> None:
    web_api.check_post_takes_the_same_parameters_as_get(client)


def test_filters_restrict_by_source_and_date_plumbing(client: TestClient) -> None:
    web_api.check_filters_restrict_by_source_and_date(client)


@pytest.mark.parametrize(("params", "status", "words"), web_api.BAD_PARAMETERS)
def test_bad_parameters_get_a_json_4xx_plumbing(
    client: TestClient, params: dict[str, object], status: int, words: str
) -> None:
    web_api.check_bad_parameters(client, params, status, words)


def test_bodies_are_bounded_and_must_be_json_plumbing(client: TestClient) -> None:
    web_api.check_a_big_body_is_a_413(client)
    web_api.check_a_broken_body_is_a_422(client)


def test_unknown_things_are_json_404s_plumbing(client: TestClient) -> None:
    web_api.check_unknown_things_are_json_404s(client)


def test_missing_index_is_a_503_that_says_how_to_build_one_plumbing(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path / "none")), base_url=LOOPBACK) as client:
        web_api.check_missing_index_is_a_503(client.get)


def test_openapi_schema_describes_the_routes_plumbing(client: TestClient) -> None:
    web_api.check_openapi_schema_describes_the_routes(client)


def test_page_and_assets_are_served_locally_with_a_strict_policy_plumbing(
    client: TestClient,
) -> None:
    web_api.check_page_and_assets_are_local_with_a_strict_policy(client)


def test_requests_past_the_limit_get_a_503_in_the_error_model_plumbing() -> None:
    """One request in flight under a limit of one: the next is refused at once, as JSON."""
    entered, release = anyio.Event(), anyio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        entered.set()
        await release.wait()
        await JSONResponse({"ok": True})(scope, receive, send)

    async def run() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=RequestLimit(slow, limit=1))
        async with httpx.AsyncClient(transport=transport, base_url=LOOPBACK) as client:
            answers: list[httpx.Response] = []
            async with anyio.create_task_group() as tasks:

                async def first() -> None:
                    answers.append(await client.get("/api/health"))

                tasks.start_soon(first)
                await entered.wait()
                try:
                    with anyio.fail_after(10):  # a limit that lets it in would wait forever
                        refused = await client.get("/api/health")
                finally:
                    release.set()
            after = await client.get("/api/health")
            return answers[0], refused, after

    served, refused, after = anyio.run(run)
    assert served.status_code == 200 and after.status_code == 200
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "try again" in refused.json()["error"] and set(refused.json()) == {"error"}


@pytest.mark.parametrize("field", ["k", "per_article", "per_source"])
def test_a_boolean_is_not_a_number_in_a_json_body(client: TestClient, field: str) -> None:
    """The document says integer; pydantic alone would read false as 0 (found by
    schemathesis)."""
    response = client.post("/api/ask", json={"q": "气候", field: False})
    assert response.status_code == 422
    assert field in response.json()["error"]


def test_a_number_in_a_json_body_is_a_json_number(client: TestClient) -> None:
    """A query string holds only strings (read as numbers); a JSON body says its types."""
    assert client.post("/api/search", json={"q": "气候", "k": "3"}).status_code == 422
    assert client.post("/api/search", json={"q": "气候", "k": 3}).status_code == 200
    assert client.post("/api/search", json={"q": "气候", "k": 3.0}).status_code == 200
    assert client.get("/api/search", params={"q": "气候", "k": "3"}).status_code == 200
