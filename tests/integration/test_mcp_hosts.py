"""``rag mcp --http`` answers only to the names it is served under, as ``rag serve`` does,
also when it listens on every interface (the SDK checks Host only on loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rag import Archive, Settings

ROOT = Path(__file__).resolve().parents[2]
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
HEADERS = {"Accept": "application/json, text/event-stream"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings(
        index_dir=tmp_path_factory.mktemp("mcp-hosts") / "idx", embedder="test-hash"
    )
    Archive(settings).build([str(ROOT / "corpus" / "sample")])
    return settings.index_dir


@contextmanager
def mcp_on_every_interface(index: Path, port: int, log: Path) -> Iterator[None]:
    env = {**os.environ, "RAG_ALLOWED_HOSTS": "news.example"}
    command = [sys.executable, "-m", "rag.cli", "mcp", "--index", str(index), "--http"]
    with log.open("wb") as errlog:
        proc = subprocess.Popen(
            [*command, "--host", "0.0.0.0", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errlog,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, "rag mcp --http did not start"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_every_interface_still_refuses_a_foreign_host(index: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with mcp_on_every_interface(index, port, tmp_path / "stderr.log"):
        foreign = {**HEADERS, "Host": f"attacker.example:{port}"}
        assert httpx.post(url, json=LIST_TOOLS, headers=foreign).status_code == 421
        origin = {**HEADERS, "Origin": "http://attacker.example"}
        assert httpx.post(url, json=LIST_TOOLS, headers=origin).status_code == 403
        for name in ("127.0.0.1", "localhost", "news.example"):
            allowed = {**HEADERS, "Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}
            status = httpx.post(url, json=LIST_TOOLS, headers=allowed).status_code
            assert status not in (403, 421), (name, status)
