"""``rag ask`` and ``rag timeline`` refuse a question longer than the HTTP API and MCP
accept (one definition, ``rag.config.API_MAX_QUESTION_CHARS``): one ``error:`` line, exit
code 2, before the index is opened or anything embedded. Over a ``test-hash`` index
(plumbing only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import Archive, Settings
from rag.config import API_MAX_QUESTION_CHARS

ROOT = Path(__file__).resolve().parents[2]
LIMIT = API_MAX_QUESTION_CHARS
runner = CliRunner()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("question-cap") / "index"
    Archive(Settings(index_dir=index_dir, embedder="test-hash")).build(
        [str(ROOT / "corpus" / "sample")]
    )
    return index_dir


def invoke(*args: str):
    from rag.cli import app

    return runner.invoke(app, list(args), env={"RAG_CONFIG": ""})


def question(length: int) -> str:
    return ("中美在COP28上承诺了什么" * (length // 10 + 1))[:length]


@pytest.mark.parametrize("command", ["ask", "timeline"])
def test_a_question_over_the_limit_is_one_error_line_and_exit_2(command: str, index: Path):
    result = invoke(command, question(43_000), "--index", str(index), "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "43,000" in line and f"{LIMIT:,}" in line


@pytest.mark.parametrize("command", ["ask", "timeline"])
def test_the_limit_is_checked_before_the_index_is_opened(command: str, tmp_path: Path):
    result = invoke(command, question(LIMIT + 1), "--index", str(tmp_path / "missing"))
    assert result.exit_code == 2, result.output
    assert "characters" in result.stderr and "missing" not in result.stderr


@pytest.mark.parametrize("command", ["ask", "timeline"])
def test_a_question_at_the_limit_is_answered(command: str, index: Path):
    result = invoke(command, question(LIMIT), "--index", str(index), "--json")
    assert result.exit_code == 0, result.output
