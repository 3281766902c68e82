"""``rag mcp`` refuses bad flags and a missing SDK before serving (the server itself, over
stdio and HTTP, is in integration/test_mcp.py)."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from rag.cli import app


def test_host_and_port_without_http_are_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["mcp", "--index", str(tmp_path), "--port", "9000"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --host and --port only apply with --http"


def test_without_the_sdk_the_error_names_the_extra(monkeypatch, tmp_path):
    # None in sys.modules makes the import fail as if the package were not installed
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)
    result = CliRunner().invoke(app, ["mcp", "--index", str(tmp_path)])
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "error: rag mcp needs the MCP Python SDK; install it with pip install 'rag-news[mcp]'"
    )
    assert "Traceback" not in result.output
