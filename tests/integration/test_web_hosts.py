"""``rag serve`` answers only to the host names it is served under (DNS rebinding): a page
on another site whose name resolves to 127.0.0.1 must not read the archive through the
user's browser. A real uvicorn server on a free port, httpx sending the Host header."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.sample import SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.web.server import free_port, running_server

FOREIGN = "attacker.rebind.test"
SERVED_NAME = "news.example.test"
RAG = [sys.executable, "-m", "rag.cli"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample articles indexed with the test embedder (the plumbing is under test)."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("hosts") / "index", embedder="test-hash")
    Archive(settings).build([str(SAMPLE)])
    return settings


@pytest.fixture(scope="module")
def port(settings: Settings) -> Iterator[int]:
    with running_server(settings) as url:
        yield int(url.rsplit(":", 1)[1])


def get(
    port: int, path: str, host: str | None, address: str = "127.0.0.1", **headers: str
) -> httpx.Response:
    """GET from the server at ``address:port`` with ``host`` as the Host header."""
    if host is not None:
        headers["Host"] = host
    return httpx.get(f"http://{address}:{port}{path}", headers=headers, timeout=30)


def an_article_id(port: int) -> str:
    hits = get(port, "/api/search?q=COP28", None).json()["hits"]
    return str(hits[0]["article_id"])


def test_a_foreign_host_gets_421_and_no_passages(port: int) -> None:
    refused = get(port, "/api/search?q=COP28", f"{FOREIGN}:{port}")
    assert refused.status_code == 421
    assert refused.headers["content-type"].startswith("application/json")
    body = refused.json()
    assert set(body) == {"error"} and FOREIGN in body["error"]
    assert "allowed_hosts" in body["error"]  # what to do to serve under that name


@pytest.mark.parametrize("path", ["/api/articles/{id}", "/", "/api/health", "/openapi.json"])
def test_every_route_refuses_a_foreign_host(port: int, path: str) -> None:
    path = path.format(id=an_article_id(port))
    assert get(port, path, f"127.0.0.1:{port}").status_code == 200
    for host in (FOREIGN, f"{FOREIGN}:{port}", f"127.0.0.1.{FOREIGN}:{port}", f"{FOREIGN}:80"):
        refused = get(port, path, host)
        assert refused.status_code == 421, host
        assert "error" in refused.json()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:{port}", "localhost", "LocalHost:{port}", "[::1]", "[::1]:{port}"],
)
def test_loopback_names_are_served_with_or_without_the_port(port: int, host: str) -> None:
    response = get(port, "/api/search?q=COP28", host.format(port=port))
    assert response.status_code == 200 and response.json()["hits"]


@pytest.mark.parametrize(
    "host", ["", "127.0.0.1:port", "[::1", "user@127.0.0.1", "127.0.0.1:80:80"]
)
def test_malformed_host_headers_are_refused(port: int, host: str) -> None:
    assert get(port, "/api/health", host).status_code in (400, 421)


def test_a_page_elsewhere_gets_403(port: int) -> None:
    """A browser sends the page's Origin; one from another site is refused (as MCP does)."""
    own = get(port, "/api/search?q=COP28", f"127.0.0.1:{port}", Origin=f"http://127.0.0.1:{port}")
    assert own.status_code == 200
    for origin in (f"http://{FOREIGN}", f"http://{FOREIGN}:{port}", "null"):
        refused = get(port, "/api/search?q=COP28", f"127.0.0.1:{port}", Origin=origin)
        assert refused.status_code == 403 and "error" in refused.json()


def test_a_configured_name_is_served_on_all_interfaces(settings: Settings) -> None:
    public = settings.with_overrides("test", allowed_hosts=f"{SERVED_NAME}, 192.0.2.7")
    with running_server(public, host="0.0.0.0") as url:
        port = int(url.rsplit(":", 1)[1])
        for host in (f"{SERVED_NAME}:{port}", SERVED_NAME.upper(), "192.0.2.7", "localhost"):
            assert get(port, "/api/search?q=COP28", host).status_code == 200, host
        assert get(port, "/api/search?q=COP28", f"{FOREIGN}:{port}").status_code == 421


def test_the_address_served_on_is_a_name_it_answers_to(settings: Settings) -> None:
    with running_server(settings, host="127.0.0.2") as url:
        port = int(url.rsplit(":", 1)[1])
        response = httpx.get(f"{url}/api/health", timeout=30)  # Host: 127.0.0.2:PORT
        assert response.status_code == 200
        refused = get(port, "/api/health", f"{FOREIGN}:{port}", address="127.0.0.2")
        assert refused.status_code == 421


def test_rag_serve_on_0_0_0_0_answers_to_the_configured_name(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port("0.0.0.0")
    env = {**os.environ, "RAG_ALLOWED_HOSTS": SERVED_NAME}
    env.pop("RAG_CONFIG", None)
    log = tmp_path / "stderr.log"
    with open(log, "wb") as stderr:
        server = subprocess.Popen(
            [
                *RAG,
                "serve",
                "--index",
                str(settings.index_dir),
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = get(port, "/api/search?q=COP28", f"{SERVED_NAME}:{port}")
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, "rag serve did not start"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["hits"]
        assert get(port, "/api/search?q=COP28", f"{FOREIGN}:{port}").status_code == 421
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.parametrize("value", ["http://news.example.org", "news.example.org:8000", "a b", "*"])
def test_allowed_hosts_must_be_names(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    monkeypatch.setattr("rag.web.server.serve", lambda settings, host, port: served.append(host))
    result = CliRunner().invoke(
        app,
        ["serve", "--index", str(tmp_path), "--port", str(free_port())],
        env={"RAG_ALLOWED_HOSTS": value},
    )
    assert result.exit_code == 2 and served == []
    assert "allowed_hosts" in result.stderr and "RAG_ALLOWED_HOSTS" in result.stderr
