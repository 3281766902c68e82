"""One contract for every storage backend: the same corpus indexed locally (FAISS + bm25s)
and in Milvus must answer alike.

Milvus runs three ways: embedded (milvus-lite, a ``*.db`` file), over the network
(``milvus-lite server`` on 127.0.0.1, an ``http://`` URI), and a real Milvus when
``RAG_MILVUS_URI`` names one. Every index is built with the FLAT kind (exact search),
so rankings must be identical, not merely close.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.news import FILTERS, NEWS, QUESTIONS
from support.sample import QUESTION, ROOT, SAMPLE, STOCKTAKE

from rag.archive import Archive
from rag.config import Settings
from rag.records import SearchFilters, SearchOptions

pytest.importorskip(
    "pymilvus", reason="the milvus extra is not installed: pip install 'rag-news[milvus]'"
)
pytest.importorskip(
    "milvus_lite", reason="the milvus extra is not installed: pip install 'rag-news[milvus]'"
)

SERVER_START_SECONDS = 60


@pytest.fixture(scope="module")
def contract_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample articles and every other dated, sourced news article of the test data
    (half of them keeps the embedding time of the first run short)."""
    target = tmp_path_factory.mktemp("contract") / "corpus"
    shutil.copytree(SAMPLE, target / "sample")
    (target / "news").mkdir()
    for path in sorted(NEWS.iterdir())[::2]:
        shutil.copy(path, target / "news" / path.name)
    return target


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``milvus-lite server`` on a free port of 127.0.0.1: the network path."""
    data = tmp_path_factory.mktemp("milvus-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "milvus_lite.cmdline", "server", "--data-dir", str(data)]
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"milvus-lite server did not start: {(data / 'server.log').read_text()}"
                    )
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module", params=["milvus-lite", "milvus-server", "milvus-env"])
def milvus_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "milvus-lite":
        return str(tmp_path_factory.mktemp("milvus-lite") / "contract.db")
    if request.param == "milvus-server":
        return str(request.getfixturevalue("milvus_server"))
    uri = os.environ.get("RAG_MILVUS_URI", "")
    if not uri:
        pytest.skip("RAG_MILVUS_URI is not set (a real Milvus, e.g. http://127.0.0.1:19530)")
    return uri


def settings_for(index_dir: Path, cache: Path, **overrides: object) -> Settings:
    return Settings(index_dir=index_dir, cache_dir=cache, index_kind="flat").with_overrides(
        "test", **overrides
    )


@pytest.fixture(scope="module")
def local_archive(
    contract_corpus: Path, tmp_path_factory: pytest.TempPathFactory, embedding_cache: Path
) -> Iterator[Archive]:
    settings = settings_for(tmp_path_factory.mktemp("local") / "index", embedding_cache)
    with Archive(settings) as archive:
        archive.build([str(contract_corpus)])
        yield archive


@pytest.fixture(scope="module")
def milvus_archive(
    contract_corpus: Path,
    milvus_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache: Path,
    local_archive: Archive,  # built first: its vectors fill the cache
) -> Iterator[Archive]:
    settings = settings_for(
        tmp_path_factory.mktemp("milvus") / "index",
        embedding_cache,
        backend="milvus",
        milvus_uri=milvus_uri,
    )
    with Archive(settings) as archive:
        report = archive.build([str(contract_corpus)])
        assert report.embedded == 0  # the same vectors as the local index
        yield archive


def ranked(archive: Archive, question: str, **options: object) -> list[tuple[str, float, float]]:
    result = archive.search(question, SearchOptions(resolve_time=False, **options))  # type: ignore[arg-type]
    return [(h.chunk.id, h.score, h.rank_score) for h in result.hits]


def assert_same(
    local: list[tuple[str, float, float]], other: list[tuple[str, float, float]]
) -> None:
    assert [h[0] for h in other] == [h[0] for h in local]
    for (_, cosine, score), (_, cosine2, score2) in zip(local, other, strict=True):
        assert cosine2 == pytest.approx(cosine, abs=1e-5)
        assert score2 == pytest.approx(score, rel=1e-4, abs=1e-5)


def test_the_index_records_its_backend(milvus_archive: Archive, milvus_uri: str) -> None:
    stats = milvus_archive.stats()
    manifest = milvus_archive._reader_now().manifest
    assert manifest.extra["backend"] == "milvus"
    assert manifest.extra["milvus_uri"] == milvus_uri
    assert manifest.extra["collection"].startswith("rag_")
    assert stats.passages > 100
    assert (stats.backend, stats.milvus_uri) == ("milvus", milvus_uri)
    # opened from the index directory alone, as `rag ask --index DIR` does
    with Archive(Settings(index_dir=milvus_archive.index_dir)) as reopened:
        assert reopened.search(QUESTION).hits[0].chunk.text.count(STOCKTAKE) == 1


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_identical_top_k(local_archive: Archive, milvus_archive: Archive, mode: str) -> None:
    for question in QUESTIONS:
        for per_article in (0, 2):
            local = ranked(local_archive, question, mode=mode, k=10, per_article=per_article)
            assert local, question
            assert_same(
                local, ranked(milvus_archive, question, mode=mode, k=10, per_article=per_article)
            )


def test_equal_bm25_scores(local_archive: Archive, milvus_archive: Archive) -> None:
    local, milvus = local_archive._reader_now(), milvus_archive._reader_now()
    for question in QUESTIONS:
        expected = local.rank_keyword(question, 10_000, None)
        found = milvus.rank_keyword(question, 10_000, None)
        assert len(expected) >= 5, question
        assert [row for row, _ in found] == [row for row, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], rel=1e-5)


def test_equal_cosines_and_no_answer(local_archive: Archive, milvus_archive: Archive) -> None:
    for question in (QUESTION, "火星上的天气怎么样"):
        local = local_archive.search(question)
        milvus = milvus_archive.search(question)
        assert milvus.no_answer == local.no_answer
        assert [h.score for h in milvus.hits] == pytest.approx(
            [h.score for h in local.hits], abs=1e-5
        )


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr((f.since, f.until, f.source)))
def test_filters_inside_the_engine(
    local_archive: Archive, milvus_archive: Archive, filters: SearchFilters
) -> None:
    for mode in ("dense", "keyword", "hybrid"):
        for question in QUESTIONS[:4]:
            local = ranked(local_archive, question, mode=mode, k=8, filters=filters)
            assert_same(local, ranked(milvus_archive, question, mode=mode, k=8, filters=filters))
    reader = local_archive._reader_now()
    matching = set(reader.rows_matching(filters))
    if filters.source != "100%":
        assert 0 < len(matching) < reader.passages  # each filter keeps some, not all
    hits = milvus_archive.search(QUESTION, SearchOptions(k=20, filters=filters, min_score=0)).hits
    assert {h.chunk.id for h in hits} <= {c.id for c in reader.chunks(sorted(matching)).values()}


NEW_ARTICLE = (
    "---\ntitle: 北极熊\ndate: 2024-01-02\nfrom: https://example.org/bears\n---\n\n"
    "北极熊数量在过去十年里显著下降，科学家呼吁加强保护北极海冰。\n"
)
REMOVED = "001_b51a48158384c388.txt"
EDITED = "002_37bebe61abe63fad.txt"


@pytest.fixture()
def pair_on_copy(
    corpus_copy: Path, tmp_path: Path, embedding_cache: Path, milvus_uri: str
) -> Iterator[tuple[Archive, Archive]]:
    """A local and a Milvus index of the same writable copy of the sample corpus."""
    local = Archive(settings_for(tmp_path / "local", embedding_cache))
    milvus = Archive(
        settings_for(tmp_path / "milvus", embedding_cache, backend="milvus", milvus_uri=milvus_uri)
    )
    for archive in (local, milvus):
        archive.build([str(corpus_copy)])
    yield local, milvus
    local.close()
    milvus.close()


def collections_of(archive: Archive) -> set[str]:
    from rag.index.milvus.client import collection_prefix, connect

    manifest = archive._reader_now().manifest
    prefix = collection_prefix(archive.index_dir) + "_"
    names = connect(manifest.extra["milvus_uri"]).list_collections()
    return {name for name in names if name.startswith(prefix)}


def referenced_collections(archive: Archive) -> set[str]:
    from rag.index.store import MANIFEST, VERSIONS, IndexManifest

    return {
        IndexManifest.from_file(v / MANIFEST).extra["collection"]
        for v in (archive.index_dir / VERSIONS).glob("v-*")
    }


def test_updates_and_deletes(pair_on_copy: tuple[Archive, Archive], corpus_copy: Path) -> None:
    local, milvus = pair_on_copy
    before = {c.article_id for c in milvus.passages()}
    (corpus_copy / "bears.md").write_text(NEW_ARTICLE, encoding="utf-8")
    (corpus_copy / REMOVED).unlink()
    edited = corpus_copy / EDITED
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\n补充：北极熊也出现在这篇报道中。\n", "utf-8"
    )
    reports = [archive.update() for archive in (local, milvus)]
    assert reports[1].removed == reports[0].removed == 1
    assert reports[1].added == reports[0].added == 1
    assert reports[1].passages == reports[0].passages
    gone = before - {c.article_id for c in local.passages()}
    assert gone
    removed_ids = {c.article_id for c in local.passages()} ^ {
        c.article_id for c in milvus.passages()
    }
    assert not removed_ids
    for question in (QUESTION, "北极熊数量下降", "北极海冰"):
        for mode in ("dense", "keyword", "hybrid"):
            assert_same(ranked(local, question, mode=mode), ranked(milvus, question, mode=mode))
    assert milvus.search("北极熊数量下降").hits[0].article.title == "北极熊"
    # a second update: the first version's collection is collected, the previous kept
    (corpus_copy / "bears.md").unlink()
    milvus.update()
    assert collections_of(milvus) == referenced_collections(milvus)
    assert len(collections_of(milvus)) == 2
    assert all(h.article.title != "北极熊" for h in milvus.search("北极熊数量下降").hits)


def test_a_failed_update_leaves_the_live_version(
    pair_on_copy: tuple[Archive, Archive], corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception after every row was sent (the metadata write fails) publishes nothing;
    with the cleanup switched off too (as when the process is killed), the half-written
    collection is orphaned until the next writer drops it."""
    import rag.index.milvus.write as write

    _, milvus = pair_on_copy
    version, before = milvus.version, ranked(milvus, QUESTION)
    (corpus_copy / "bears.md").write_text(NEW_ARTICLE, encoding="utf-8")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(write, "write_metadata", fail)
    with pytest.raises(OSError, match="disk full"):
        milvus.update()
    assert milvus.version == version and ranked(milvus, QUESTION) == before
    assert collections_of(milvus) == referenced_collections(milvus)  # dropped at once

    monkeypatch.setattr(write, "_drop_quietly", lambda client, name: None)
    with pytest.raises(OSError, match="disk full"):
        milvus.update()
    orphans = collections_of(milvus) - referenced_collections(milvus)
    assert len(orphans) == 1
    with Archive(Settings(index_dir=milvus.index_dir)) as reader:
        assert reader.version == version and ranked(reader, QUESTION) == before

    monkeypatch.undo()
    report = milvus.update()
    assert report.added == 1 and milvus.version != version
    assert not orphans & collections_of(milvus)
    assert milvus.search("北极熊数量下降").hits[0].article.title == "北极熊"


KILLED_UPDATE = """
import sys, time
import rag.index.milvus.write as write
from rag.archive import Archive
from rag.config import Settings

def stall(*args, **kwargs):
    print("ROWS SENT", flush=True)
    time.sleep(600)

write.write_metadata = stall  # every row is in Milvus; the version is not published
Archive(Settings(index_dir=sys.argv[1], cache_dir=sys.argv[2])).update()
"""


def test_a_killed_update_leaves_the_live_version(
    milvus_server: str, corpus_copy: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    """SIGKILL of a real process writing to a Milvus server, after its new collection got
    every row: readers keep the old version, the next update collects the leftovers."""
    settings = settings_for(
        tmp_path / "index", embedding_cache, backend="milvus", milvus_uri=milvus_server
    )
    with Archive(settings) as archive:
        archive.build([str(corpus_copy)])
        version, before = archive.version, ranked(archive, QUESTION)
        referenced = referenced_collections(archive)
    (corpus_copy / "bears.md").write_text(NEW_ARTICLE, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_UPDATE, str(settings.index_dir), str(embedding_cache)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ROWS SENT"
    finally:
        child.kill()
        child.wait()
    with Archive(Settings(index_dir=settings.index_dir)) as archive:
        assert archive.version == version and ranked(archive, QUESTION) == before
        orphans = collections_of(archive) - referenced
        assert len(orphans) == 1
        assert list((settings.index_dir / "versions").glob("tmp-*"))
        report = archive.update()
        assert report.added == 1 and archive.version != version
        assert not orphans & collections_of(archive)
        assert not list((settings.index_dir / "versions").glob("tmp-*"))
        assert archive.search("北极熊数量下降").hits[0].article.title == "北极熊"
