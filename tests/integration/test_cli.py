"""The CLI on the real sample index: what `rag ask` and `rag index stats` show for the real
engine, and how `rag ask` fits an 80-column terminal (the plumbing, exit codes and help
are in unit/test_cli.py and unit/test_cli_conventions.py, the test-hash output in
unit/test_cli_output.py)."""

from __future__ import annotations

import re

from support.cli import check_stats_json
from support.sample import QUESTION, STOCKTAKE
from support.terminal import on_a_terminal, widest_line
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


def test_ask_fits_an_80_column_terminal(sample_index):
    """The sample question's answer and five passages: every line within 80 columns
    (before: 11 of 24 lines wider, up to 492), URLs decoded, each score labelled."""
    settings, _ = sample_index
    shown = on_a_terminal("ask", QUESTION, "--index", str(settings.index_dir))
    assert widest_line(shown) <= 80, shown
    assert "https://www.rfi.fr/cn/生态/20231115-中美气候合作声明有何新意" in shown
    assert "%E" not in shown
    assert "similarity: cosine with the question." in shown
    headers = [line for line in shown.splitlines() if re.match(r"\[\d\] ", line)]
    assert len(headers) == 5
    assert all(re.search(r"  similarity\s0\.\d{3}$", line) for line in headers), headers
    # the answer sentence is whole once its lines are joined
    assert STOCKTAKE in "".join(line.strip() for line in shown.splitlines())
