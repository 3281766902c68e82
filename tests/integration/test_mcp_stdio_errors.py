"""``rag mcp`` over stdio answers every malformed line as JSON-RPC 2.0 requires (a parse
error, an invalid request, invalid params) and keeps serving: a client never waits for a
reply that will not come. The real command in a subprocess, over a ``test-hash`` index
(plumbing only), read with a timeout."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag import Archive, Settings

pytest.importorskip("mcp.server.mcpserver")

ROOT = Path(__file__).resolve().parents[2]
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
TIMEOUT = 20.0


class StdioClient:
    """Lines to the server's stdin; one JSON message per line back from its stdout."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.pending = b""

    def send(self, line: str | dict[str, Any]) -> None:
        text = line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"no reply within {timeout} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError("the server closed its stdout")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def request(self, line: str | dict[str, Any]) -> dict[str, Any]:
        self.send(line)
        return self.receive()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("mcp-stdio") / "index"
    Archive(Settings(index_dir=index_dir, embedder="test-hash")).build(
        [str(ROOT / "corpus" / "sample")]
    )
    return index_dir


@pytest.fixture(scope="module")
def client(index: Path) -> Iterator[StdioClient]:
    """One server for the module: each test also checks that it still serves."""
    log = (index.parent / "stderr.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "mcp", "--index", str(index)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=ROOT,
        env={**os.environ, "RAG_CONFIG": ""},
    )
    connection = StdioClient(process)
    try:
        reply = connection.request(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            }
        )
        assert reply["id"] == 0 and "result" in reply, reply
        connection.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield connection
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


def assert_error(reply: dict[str, Any], code: int, id: Any) -> None:
    assert reply["jsonrpc"] == "2.0" and reply["id"] == id, reply
    assert reply["error"]["code"] == code and reply["error"]["message"], reply
    assert "result" not in reply


def assert_still_serving(client: StdioClient, id: int) -> None:
    """The next request is answered, and it is the next reply: nothing was owed before it."""
    reply = client.request({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
    assert reply["id"] == id, reply
    assert {tool["name"] for tool in reply["result"]["tools"]} >= {"search", "ask"}


MALFORMED = [
    pytest.param("this is not json", PARSE_ERROR, None, id="not-json"),
    pytest.param('{"jsonrpc": "2.0", "id": 3, "method": "tools/li', PARSE_ERROR, None, id="cut"),
    pytest.param("[" * 100_000, PARSE_ERROR, None, id="nested-too-deep"),
    pytest.param("{}", INVALID_REQUEST, None, id="empty-object"),
    pytest.param(
        '[{"jsonrpc": "2.0", "id": 5, "method": "tools/list"}]', INVALID_REQUEST, None, id="batch"
    ),
    pytest.param("[]", INVALID_REQUEST, None, id="empty-batch"),
    pytest.param('"tools/list"', INVALID_REQUEST, None, id="a-string"),
    pytest.param("42", INVALID_REQUEST, None, id="a-number"),
    pytest.param(
        '{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}',
        INVALID_REQUEST,
        None,
        id="object-id",
    ),
    pytest.param(
        '{"jsonrpc": "2.0", "id": true, "method": "tools/list"}',
        INVALID_REQUEST,
        None,
        id="bool-id",
    ),
    pytest.param(
        '{"jsonrpc": "2.0", "id": null, "method": "tools/list"}',
        INVALID_REQUEST,
        None,
        id="null-id",
    ),
    pytest.param(
        '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": "search"}',
        INVALID_REQUEST,
        7,
        id="string-params",
    ),
    pytest.param(
        '{"jsonrpc": "1.0", "id": 8, "method": "tools/list"}', INVALID_REQUEST, 8, id="v1"
    ),
    pytest.param('{"jsonrpc": "2.0", "id": "nine"}', INVALID_REQUEST, "nine", id="no-method"),
    pytest.param(
        '{"jsonrpc": "2.0", "id": 10, "method": 5}', INVALID_REQUEST, 10, id="number-method"
    ),
    pytest.param(
        '{"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": ["search", {}]}',
        INVALID_PARAMS,
        11,
        id="positional-params",
    ),
    pytest.param(
        '{"jsonrpc": "2.0", "id": 12, "method": "tools/call", "params": {}}',
        INVALID_PARAMS,
        12,
        id="params-without-name",
    ),
    pytest.param(
        '{"jsonrpc": "2.0", "id": 13, "method": "tools/call", '
        '"params": {"name": "search", "arguments": "中美"}}',
        INVALID_PARAMS,
        13,
        id="arguments-not-an-object",
    ),
]


@pytest.mark.parametrize(("line", "code", "id"), MALFORMED)
def test_a_malformed_line_is_answered_and_the_server_keeps_serving(
    client: StdioClient, line: str, code: int, id: Any
) -> None:
    assert_error(client.request(line), code, id)
    assert_still_serving(client, 100)


def test_many_malformed_lines_in_a_row_then_a_search(client: StdioClient) -> None:
    for n, param in enumerate(MALFORMED):
        line, code, id = param.values
        assert_error(client.request(line), code, id)
        assert_still_serving(client, 1000 + n)
    reply = client.request(
        {
            "jsonrpc": "2.0",
            "id": 2000,
            "method": "tools/call",
            "params": {"name": "search", "arguments": {"question": "中美气候合作", "k": 1}},
        }
    )
    assert reply["id"] == 2000 and reply["result"]["isError"] is False, reply
    assert len(reply["result"]["structuredContent"]["hits"]) == 1


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("", id="blank-line"),
        pytest.param("   ", id="spaces"),
        pytest.param(
            '{"jsonrpc": "2.0", "method": "notifications/initialized", "params": [1]}',
            id="notification-with-positional-params",
        ),
        pytest.param('{"jsonrpc": "2.0", "id": 3, "result": "done"}', id="malformed-response"),
    ],
)
def test_what_json_rpc_never_answers_gets_no_reply(client: StdioClient, line: str) -> None:
    """A notification is never answered, even with bad params, nor is a response; a blank
    line carries no message."""
    client.send(line)
    assert_still_serving(client, 200)
