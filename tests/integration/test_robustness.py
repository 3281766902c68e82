"""Bad input loses nothing, readers never see a half-written index, damaged indexes say
so: on the real engine (the locks and a test-hash run of the rest are in
unit/test_robustness.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.robustness import check_a_bad_input_build, check_damaged_index_errors
from support.sample import QUESTION, SAMPLE, STOCKTAKE

from rag.archive import Archive
from rag.config import Settings
from rag.records import SearchOptions


def test_every_kind_of_bad_input_is_reported_and_the_rest_indexed(tmp_path, embedding_cache):
    index = check_a_bad_input_build(tmp_path, {"RAG_CACHE_DIR": str(embedding_cache)})
    archive = Archive(Settings(index_dir=index))
    hits = archive.search("空气质量 捷运", SearchOptions(k=10, per_article=1)).hits
    assert {"国标编码", "繁體編碼"} <= {h.article.title for h in hits}
    assert any(STOCKTAKE in h.chunk.text for h in archive.search(QUESTION, SearchOptions(k=3)).hits)


def _rag(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from rag.cli import main; main()", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def _answers(index: Path | Archive) -> bool:
    """The sample question is answered by a new archive of ``index`` (or by ``index``)."""
    if isinstance(index, Archive):
        hits = index.search(QUESTION, SearchOptions(k=3)).hits
        return any(STOCKTAKE in h.chunk.text for h in hits)
    with Archive(Settings(index_dir=index)) as archive:
        return _answers(archive)


@pytest.mark.slow
def test_readers_never_see_a_half_written_index(tmp_path, fresh_settings):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    writer = Archive(fresh_settings)
    writer.build([str(corpus)])
    errors: list[str] = []
    stop = threading.Event()
    # one archive shared by threads (it follows each new version) and one opened per read
    shared = Archive(Settings(index_dir=fresh_settings.index_dir))
    versions_seen: set[str] = set()

    def read_forever(index: Path | Archive) -> None:
        while not stop.is_set():
            try:
                if not _answers(index):
                    errors.append("wrong answer")
                if isinstance(index, Archive):
                    versions_seen.add(index.version)
            except Exception as exc:  # any failure to read is what this test looks for
                errors.append(repr(exc))

    readers = [
        threading.Thread(target=read_forever, args=(index,))
        for index in (fresh_settings.index_dir, shared, shared)
    ]
    for thread in readers:
        thread.start()
    for round_ in range(3):
        (corpus / f"extra{round_}.md").write_text(
            f"# 补充{round_}\n\n第{round_}篇补充文章。\n", "utf-8"
        )
        report = writer.update([str(corpus)])
        assert report.added == 1
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert shared.version == writer.version == report.version  # the shared one moved on
    assert len(versions_seen) >= 2


def test_damaged_indexes_give_clear_errors(tmp_path, fresh_settings):
    Archive(fresh_settings).build([str(SAMPLE)])
    index = fresh_settings.index_dir
    check_damaged_index_errors(index)
    # a rebuild recovers without manual steps
    Archive(fresh_settings).build([str(SAMPLE)])
    assert _answers(index)
