"""The trust checks both tiers run through the real CLI (integration/test_trust.py on the
real engine, unit/test_trust.py with test-hash): a user's environment, a project indexed
as the README does, a typo in the build path, the embedder check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rag import Archive, Settings
from support.cli import one_line_error
from support.sample import QUESTION, SAMPLE

# an embedder no test index is built with
OTHER_EMBEDDER = "st:sentence-transformers/all-MiniLM-L6-v2"

runner = CliRunner()


def rag(*args: str, env: dict[str, str] | None = None) -> Result:
    from rag.cli import app

    return runner.invoke(app, list(args), env=env)


def articles(index: Path) -> int:
    return Archive(Settings(index_dir=index)).stats().articles


def user_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, str]:
    """The RAG_* environment of a user with no settings file: every RAG_* variable unset
    but ``variables``, which are set and returned."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    return dict(variables)


def make_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with corpus/sample, indexed as the README does (relative paths)."""
    shutil.copytree(SAMPLE, tmp_path / "corpus" / "sample")
    monkeypatch.chdir(tmp_path)
    built = rag("index", "build", "corpus/sample", "--index", "idx")
    assert built.exit_code == 0, built.output
    return tmp_path


def check_a_typo_keeps_the_live_index(project: Path) -> Result:
    """A build of a misspelt folder fails and leaves ``project``'s index as it was;
    returns ``ask --json --no-answer`` over it, for the caller to check."""
    result = rag("index", "build", "corpsu", "--index", "idx")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "corpsu" in line and "not replaced" in line
    assert articles(project / "idx") == 5
    return rag("ask", QUESTION, "--index", "idx", "--json", "--no-answer")


def use_other_embedder(project: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Names OTHER_EMBEDDER in the environment or in the project's settings file."""
    if where == "environment":
        monkeypatch.setenv("RAG_EMBEDDER", OTHER_EMBEDDER)
    else:
        monkeypatch.delenv("RAG_EMBEDDER", raising=False)  # it would win over the file
        (project / "rag.toml").write_text(f'embedder = "{OTHER_EMBEDDER}"\n', encoding="utf-8")


def check_the_embedder_check_names(embedder: str, where: str) -> None:
    """``ask`` over the project's index refuses, naming the index's embedder and where
    the other one was set."""
    result = rag("ask", QUESTION, "--index", "idx")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert embedder in line and where in line
