"""Choosing a storage backend: settings and the missing extra, without Milvus (building on
Milvus and the lazy import are in integration/test_backends.py, the backends' behaviour in
integration/test_backend_contract.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.sample import SAMPLE
from typer.testing import CliRunner

from rag.cli import app
from rag.config import TEST_EMBEDDER, Settings
from rag.errors import ConfigError, MissingDependencyError

runner = CliRunner()


def test_backend_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="backend"):
        Settings(backend="elastic")
    with pytest.raises(ConfigError, match=r"milvus_uri.*\.db"):
        Settings(milvus_uri="milvus.sqlite")
    assert Settings(backend="milvus", milvus_uri="http://10.0.0.5:19530").backend == "milvus"


def test_a_missing_milvus_extra_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if not installed
    from rag.index.milvus.client import pymilvus

    with pytest.raises(MissingDependencyError, match=r"pip install 'rag-news\[milvus\]'"):
        pymilvus()
    monkeypatch.setenv("RAG_EMBEDDER", TEST_EMBEDDER)
    index = tmp_path / "index"
    args = ["index", "build", str(SAMPLE), "--index", str(index), "--backend", "milvus"]
    result = runner.invoke(app, [*args, "--milvus-uri", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "install the milvus extra: pip install 'rag-news[milvus]'" in result.output
    assert "Traceback" not in result.output
    assert not (index / "CURRENT").exists()
