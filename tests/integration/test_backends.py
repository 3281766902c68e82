"""Choosing a storage backend on the real engine: building on Milvus from the CLI,
switching backends, and a local index that never imports pymilvus (settings and the
missing extra are in unit/test_backends.py; the backends' behaviour is compared in
test_backend_contract.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.sample import QUESTION, SAMPLE, STOCKTAKE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings

runner = CliRunner()


def test_asking_a_local_index_never_imports_pymilvus(sample_index) -> None:
    settings, _ = sample_index
    script = (
        "import sys\n"
        "from rag.cli import main\n"
        f"sys.argv = ['rag', 'ask', {QUESTION!r}, '--index', {str(settings.index_dir)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('LOADED', sorted(m for m in sys.modules if 'milvus' in m))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert STOCKTAKE in done.stdout
    assert "LOADED []" in done.stdout


def test_build_and_ask_on_milvus_lite_from_the_cli(
    tmp_path: Path,
    embedding_cache: Path,
    sample_archive: Archive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's demonstration: a relative *.db URI, then `rag ask --index` alone finds
    the Milvus data and returns the local backend's top 5, the stocktake passage first."""
    pytest.importorskip("milvus_lite", reason="the milvus extra is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAG_CACHE_DIR", str(embedding_cache))
    monkeypatch.delenv("RAG_MILVUS_URI", raising=False)  # it would win over the manifest
    build = ["index", "build", str(SAMPLE), "--index", "idx", "--backend", "milvus"]
    result = runner.invoke(app, [*build, "--milvus-uri", "dbs/x.db"])
    assert result.exit_code == 0, result.output
    version = (tmp_path / "idx" / "CURRENT").read_text().strip()
    manifest = json.loads((tmp_path / "idx" / "versions" / version / "manifest.json").read_text())
    assert manifest["extra"]["backend"] == "milvus"
    assert manifest["extra"]["milvus_uri"] == str(tmp_path / "dbs" / "x.db")

    result = runner.invoke(app, ["ask", QUESTION, "--index", "idx", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    expected = sample_archive.search(QUESTION).hits
    assert [h["chunk_id"] for h in hits] == [h.chunk.id for h in expected]
    assert len(hits) == 5 and STOCKTAKE in hits[0]["text"]

    # another process cannot open the file this process holds: one line, no traceback
    ask = [sys.executable, "-m", "rag.cli", "ask", QUESTION, "--index", "idx"]
    done = subprocess.run(ask, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot open {tmp_path / 'dbs' / 'x.db'} with milvus-lite; is another "
        "process using it? milvus-lite lets one process at a time open a file: stop the "
        "other one, or serve the file with 'milvus-lite server --data-dir DIR' and use "
        "http://127.0.0.1:19530"
    ]

    # a rebuild without --backend stays on the index's backend and URI
    result = runner.invoke(app, ["index", "build", str(SAMPLE), "--index", "idx"])
    assert result.exit_code == 0, result.output
    version = (tmp_path / "idx" / "CURRENT").read_text().strip()
    manifest = json.loads((tmp_path / "idx" / "versions" / version / "manifest.json").read_text())
    assert manifest["extra"]["milvus_uri"] == str(tmp_path / "dbs" / "x.db")


def test_switching_backends_on_one_index(tmp_path: Path, embedding_cache: Path) -> None:
    """A rebuild with another backend replaces the live version like any rebuild: a
    long-lived archive follows it, and the Milvus collections go once no version uses them."""
    pytest.importorskip("milvus_lite", reason="the milvus extra is not installed")
    from rag.index.milvus.client import collection_prefix, connect

    local = Settings(index_dir=tmp_path / "idx", cache_dir=embedding_cache)
    uri = str(tmp_path / "m.db")
    with Archive(local) as archive:
        archive.build([str(SAMPLE)])
        expected = [h.chunk.id for h in archive.search(QUESTION).hits]
        Archive(local.with_overrides("test", backend="milvus", milvus_uri=uri)).build([str(SAMPLE)])
        assert archive.stats().backend == "milvus"
        assert [h.chunk.id for h in archive.search(QUESTION).hits] == expected
        prefix = collection_prefix(local.index_dir)
        assert any(n.startswith(prefix) for n in connect(uri).list_collections())
        for _ in range(2):  # the second build retires the Milvus version (one old one is kept)
            # version names order by the second they were published in
            time.sleep(1.1)
            Archive(local.with_overrides("test", backend="local")).build([str(SAMPLE)])
        assert archive.stats().backend == "local"
        assert [h.chunk.id for h in archive.search(QUESTION).hits] == expected
        assert not any(n.startswith(prefix) for n in connect(uri).list_collections())
