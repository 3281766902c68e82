"""``rag mcp --http`` answers only to the names it is served under, as ``rag serve`` does,
also when it listens on every interface (the SDK checks Host only on loopback)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.mcp_http import free_port, mcp_http_server

from rag import Archive, Settings

ROOT = Path(__file__).resolve().parents[2]
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings(
        index_dir=tmp_path_factory.mktemp("mcp-hosts") / "idx", embedder="test-hash"
    )
    Archive(settings).build([str(ROOT / "corpus" / "sample")])
    return settings.index_dir


def test_every_interface_still_refuses_a_foreign_host(index: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log, env = tmp_path / "stderr.log", {"RAG_ALLOWED_HOSTS": "news.example"}
    with mcp_http_server(index, port, log, "--host", "0.0.0.0", env=env):
        foreign = {**HEADERS, "Host": f"attacker.example:{port}"}
        assert httpx.post(url, json=LIST_TOOLS, headers=foreign).status_code == 421
        origin = {**HEADERS, "Origin": "http://attacker.example"}
        assert httpx.post(url, json=LIST_TOOLS, headers=origin).status_code == 403
        for name in ("127.0.0.1", "localhost", "news.example"):
            allowed = {**HEADERS, "Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}
            status = httpx.post(url, json=LIST_TOOLS, headers=allowed).status_code
            assert status not in (403, 421), (name, status)
