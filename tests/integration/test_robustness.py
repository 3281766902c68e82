"""Bad input loses nothing; killed writers never break the index; damaged indexes say so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.sample import QUESTION, SAMPLE, STOCKTAKE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.errors import IndexCorruptError, IndexLockedError
from rag.index.local.reader import IndexReader
from rag.index.store import CURRENT, MANIFEST, current_version_dir, writer_lock
from rag.records import SearchOptions

runner = CliRunner()


def make_bad_corpus(root: Path) -> dict[str, str]:
    """The sample articles plus one file of every kind of bad input; returns name -> expected reason."""
    shutil.copytree(SAMPLE, root)
    seed = (SAMPLE / "000_ea12142fd580669e.txt").read_text(encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.html").write_bytes(bytes(range(256)) * 40)
    with open(root / "huge.html", "wb") as handle:
        handle.write(b"<html><body>" + (b"<p>" + "长".encode() * 1000 + b"</p>") * 17_500)
    (root / "no-text.html").write_text("<html><body><div></div></body></html>", encoding="utf-8")
    (root / "broken-header.txt").write_text(
        seed.replace("<!--1700063101000-->", "<!--17000x-->"), "utf-8"
    )
    (root / "truncated.txt").write_text(seed[: len(seed) // 2], encoding="utf-8")
    (root / "gb18030.html").write_bytes(
        "<html><head><title>国标编码</title></head><body><p>这是一篇用国标编码保存的文章，"
        "讲的是北京的空气质量在冬季明显改善，市民出行更加方便。</p></body></html>".encode("gb18030")
    )
    (root / "big5.html").write_bytes(
        "<html><head><title>繁體編碼</title></head><body><p>這是一篇用大五碼保存的文章，"
        "講的是臺北的捷運系統在假日期間延長營運時間，方便市民出遊。</p></body></html>".encode(
            "big5"
        )
    )
    (root / "name with spaces.md").write_text(
        "# 标题\n\n带空格的文件名也能正常索引，内容完整。\n", "utf-8"
    )
    (root / "new\nline.txt").write_text(
        "换行文件名\n\n文件名里有换行符的文章也要正常处理。\n", "utf-8"
    )
    with open(os.fsencode(root) + b"/bad-\xff-name.txt", "wb") as handle:
        handle.write("非UTF-8文件名\n\n文件名不是合法的UTF-8字节序列。\n".encode())
    return {
        "empty.txt": "empty",
        "binary.html": "binary",
        "huge.html": "MB",
        "no-text.html": "no extractable text",
        "broken-header.txt": "header",
    }


def test_every_kind_of_bad_input_is_reported_and_the_rest_indexed(tmp_path, embedding_cache):
    corpus = tmp_path / "corpus"
    expected = make_bad_corpus(corpus)
    index = tmp_path / "index"
    missing = tmp_path / "does-not-exist"
    result = runner.invoke(
        app,
        ["index", "build", str(corpus), str(missing), "--index", str(index), "--json"],
        env={"RAG_CACHE_DIR": str(embedding_cache)},
    )
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
    archive = Archive(Settings(index_dir=index))
    hits = archive.search("空气质量 捷运", SearchOptions(k=10, per_article=1)).hits
    assert {"国标编码", "繁體編碼"} <= {h.article.title for h in hits}
    assert any(STOCKTAKE in h.chunk.text for h in archive.search(QUESTION, SearchOptions(k=3)).hits)


def test_strict_turns_failures_into_exit_1(tmp_path, embedding_cache):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    result = runner.invoke(
        app,
        ["index", "build", str(corpus), "--index", str(tmp_path / "i"), "--strict"],
        env={"RAG_CACHE_DIR": str(embedding_cache)},
    )
    assert result.exit_code == 1
    assert "empty.txt" in result.stderr and "--strict" in result.stderr
    assert Archive(Settings(index_dir=tmp_path / "i")).stats().articles == 5


def test_a_second_writer_fails_clearly(fresh_settings):
    with (
        writer_lock(fresh_settings.index_dir),
        pytest.raises(IndexLockedError, match="another process"),
    ):
        Archive(fresh_settings).build([str(SAMPLE)])


def test_a_second_writer_can_wait(fresh_settings):
    def hold() -> None:
        with writer_lock(fresh_settings.index_dir):
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    report = Archive(fresh_settings).build([str(SAMPLE)], lock_wait=30)
    holder.join()
    assert report.articles == 5


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
    result = runner.invoke(app, ["ask", QUESTION, "--index", str(index)])
    assert result.exit_code == 1
    assert "missing version" in result.stderr and "Traceback" not in result.output
    # a rebuild recovers without manual steps
    Archive(fresh_settings).build([str(SAMPLE)])
    assert _answers(index)
