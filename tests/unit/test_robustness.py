"""Bad input loses nothing, a second writer is refused or waits, damaged indexes say so:
over indexes built with test-hash (what the real engine answers afterwards is checked in
integration/test_robustness.py)."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from support.robustness import check_a_bad_input_build, check_damaged_index_errors
from support.sample import QUESTION, SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import TEST_EMBEDDER, Settings
from rag.errors import IndexLockedError
from rag.index.store import writer_lock
from rag.records import SearchOptions

runner = CliRunner()


def test_strict_turns_failures_into_exit_1(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    result = runner.invoke(
        app,
        ["index", "build", str(corpus), "--index", str(tmp_path / "i"), "--strict"],
        env={"RAG_EMBEDDER": TEST_EMBEDDER},
    )
    assert result.exit_code == 1
    assert "empty.txt" in result.stderr and "--strict" in result.stderr
    assert Archive(Settings(index_dir=tmp_path / "i")).stats().articles == 5


def test_a_second_writer_fails_clearly(hash_settings):
    with (
        writer_lock(hash_settings.index_dir),
        pytest.raises(IndexLockedError, match="another process"),
    ):
        Archive(hash_settings).build([str(SAMPLE)])


def test_a_second_writer_can_wait(hash_settings):
    def hold() -> None:
        with writer_lock(hash_settings.index_dir):
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    report = Archive(hash_settings).build([str(SAMPLE)], lock_wait=30)
    holder.join()
    assert report.articles == 5


def test_every_kind_of_bad_input_is_reported_and_the_rest_indexed_plumbing(tmp_path):
    index = check_a_bad_input_build(tmp_path, {"RAG_EMBEDDER": TEST_EMBEDDER})
    with Archive(Settings(index_dir=index)) as archive:
        assert len({c.article_id for c in archive.passages()}) == 10


def test_damaged_indexes_give_clear_errors_plumbing(hash_settings):
    Archive(hash_settings).build([str(SAMPLE)])
    index = hash_settings.index_dir
    check_damaged_index_errors(index)
    # a rebuild recovers without manual steps
    Archive(hash_settings).build([str(SAMPLE)])
    with Archive(Settings(index_dir=index)) as archive:
        assert len(archive.search(QUESTION, SearchOptions(k=3)).hits) == 3
