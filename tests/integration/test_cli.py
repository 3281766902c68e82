"""The CLI in-process on the real sample index: what `rag ask` and `rag index stats` show
for the real engine (the plumbing, exit codes and help are in unit/test_cli.py)."""

from __future__ import annotations

from support.cli import check_stats_json
from support.sample import QUESTION, STOCKTAKE
from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_ask_prints_cited_passages(sample_index):
    settings, _ = sample_index
    result = invoke("ask", QUESTION, "--index", str(settings.index_dir), "-k", "3")
    assert result.exit_code == 0, result.output
    assert "[1]" in result.stdout and "rfi.fr" in result.stdout
    assert "2023-11-15" in result.stdout
    assert STOCKTAKE in result.stdout


def test_stats_json(sample_index):
    check_stats_json(sample_index, "intfloat/multilingual-e5-small")
