"""The robustness checks both tiers run (integration/test_robustness.py on the real
engine, unit/test_robustness.py over test-hash): what a build over bad input reports, and
the errors a damaged index gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.errors import IndexCorruptError
from rag.index.local.reader import IndexReader
from rag.index.store import CURRENT, MANIFEST, current_version_dir
from support.bad_inputs import make_bad_corpus
from support.sample import QUESTION


def check_a_bad_input_build(tmp_path: Path, env: dict[str, str]) -> Path:
    """``rag index build CORPUS MISSING --json`` (with ``env``) over ``make_bad_corpus``'s
    corpus and a path that does not exist reports every bad file and indexes the rest;
    returns the index it built."""
    corpus = tmp_path / "corpus"
    expected = make_bad_corpus(corpus)
    index = tmp_path / "index"
    missing = tmp_path / "does-not-exist"
    result = CliRunner().invoke(
        app,
        ["index", "build", str(corpus), str(missing), "--index", str(index), "--json"],
        env=env,
    )
    check_bad_input_report(result, expected)
    return index


def check_bad_input_report(result: Result, expected: dict[str, str]) -> None:
    """The build's ``--json`` report and warnings: each of the ``expected`` reasons
    ``make_bad_corpus`` returned, the missing path, and the counts."""
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    for name, reason in expected.items():
        line = next((w for w in warnings if name in w), None)
        assert line is not None, (name, warnings)
        assert reason.lower() in line.lower(), line
    assert any("does-not-exist" in w for w in warnings)
    # skipped: empty, binary, huge, no-text, missing path; the broken header is only a warning
    assert report["failed"] == 5
    # broken-header and truncated copies keep the seed's URL, so they merge into it:
    # 5 samples + gb18030 + big5 + 3 odd names
    assert report["duplicates_merged"] == 2
    assert report["articles"] == 10, report


def check_damaged_index_errors(index: Path) -> None:
    """Damages the index at ``index`` three ways (a newer format, a truncated dense index,
    a missing live version) and checks each gives a clear error; leaves it damaged."""
    version = current_version_dir(index)

    manifest = json.loads((version / MANIFEST).read_text("utf-8"))
    (version / MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}), "utf-8")
    with pytest.raises(IndexCorruptError, match="newer"):
        IndexReader(index)
    with pytest.raises(IndexCorruptError, match="newer"):
        Archive(Settings(index_dir=index)).search(QUESTION)
    (version / MANIFEST).write_text(json.dumps(manifest), "utf-8")

    dense = version / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="damaged"):
        IndexReader(index)
    with pytest.raises(IndexCorruptError, match="damaged"):
        Archive(Settings(index_dir=index)).search(QUESTION)

    (index / CURRENT).write_text("v-gone\n", "utf-8")
    result = CliRunner().invoke(app, ["ask", QUESTION, "--index", str(index)])
    assert result.exit_code == 1
    assert "missing version" in result.stderr and "Traceback" not in result.output
