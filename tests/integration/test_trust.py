"""No typo loses a live index, and the embedder check reads every source of settings: on
the real sample index built with e5 (the other trust checks run with test-hash in
unit/test_trust.py)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support.cli import one_line_error
from support.sample import QUESTION, SAMPLE
from typer.testing import CliRunner

from rag import Archive, Settings

runner = CliRunner()


@pytest.fixture()
def env(embedding_cache: Path, sample_index, monkeypatch) -> dict[str, str]:
    """RAG_* environment of a user with no settings file, sharing the session's vectors."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_CACHE_DIR", str(embedding_cache))
    return {"RAG_CACHE_DIR": str(embedding_cache)}


def rag(*args: str, env: dict[str, str] | None = None):
    from rag.cli import app

    return runner.invoke(app, list(args), env=env)


def articles(index: Path) -> int:
    return Archive(Settings(index_dir=index)).stats().articles


@pytest.fixture()
def project(tmp_path: Path, env, monkeypatch) -> Path:
    """A project folder with corpus/sample, indexed as the README does (relative paths)."""
    shutil.copytree(SAMPLE, tmp_path / "corpus" / "sample")
    monkeypatch.chdir(tmp_path)
    built = rag("index", "build", "corpus/sample", "--index", "idx")
    assert built.exit_code == 0, built.output
    return tmp_path


def test_a_typo_in_the_build_path_keeps_the_live_index(project):
    result = rag("index", "build", "corpsu", "--index", "idx")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "corpsu" in line and "not replaced" in line
    assert articles(project / "idx") == 5
    asked = rag("ask", QUESTION, "--index", "idx", "--json", "--no-answer")
    assert asked.exit_code == 0 and json.loads(asked.stdout)["found"]


@pytest.mark.parametrize("where", ["environment", "settings file"])
def test_the_embedder_check_uses_every_source_of_settings(project, monkeypatch, where):
    other = "st:sentence-transformers/all-MiniLM-L6-v2"
    if where == "environment":
        monkeypatch.setenv("RAG_EMBEDDER", other)
    else:
        (project / "rag.toml").write_text(f'embedder = "{other}"\n', encoding="utf-8")
    result = rag("ask", QUESTION, "--index", "idx")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "intfloat/multilingual-e5-small" in line and where in line
