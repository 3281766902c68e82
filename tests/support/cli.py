"""Reading the CLI's output in tests run through typer's ``CliRunner``, and the CLI checks
both tiers run on their sample index."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from rag.config import Settings
from rag.records import BuildReport


def one_line_error(result: Result) -> str:
    """The single ``error: ...`` line a failed command printed on stderr (no traceback)."""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def check_stats_json(index: tuple[Settings, BuildReport], embedder: str) -> None:
    """``rag index stats --json`` over the sample index counts its five articles."""
    from rag.cli import app

    settings, report = index
    result = CliRunner().invoke(
        app, ["index", "stats", "--index", str(settings.index_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["articles"] == 5 and data["passages"] == report.passages
    assert data["embedder"] == embedder
    assert data["bytes_index"] > 0
