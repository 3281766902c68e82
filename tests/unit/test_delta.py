"""The base + delta layout (rag.index.local.segments): an update over a large base writes only
a delta beside hard links to the base's files, and answers what a rebuild answers; with the
test-hash embedder (integration/test_delta.py compares filters over the news articles).

The sample corpus is small, so each test lowers the base size from which updates write
deltas (``DELTA_MIN_BASE_PASSAGES``) to zero (the ``deltas`` fixture): the layout is the
same at any size.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from support.updates import NEW_ARTICLE, QUESTIONS, change_corpus, live_dir, rankings, rebuilt

import rag.index.local.segments as segments
from rag.archive import Archive
from rag.index.local.reader import IndexReader
from rag.index.local.segment_reads import SegmentedMetadata
from rag.records import SearchFilters, SearchOptions

OTHER_ARTICLE = (
    "---\ntitle: 另一篇\ndate: 2024-01-03\nfrom: https://example.org/b\n---\n\n"
    "南极企鹅栖息地因海冰减少而缩小，研究人员在三个观测站记录了繁殖数量的变化。\n"
)


def by_id(archive: Archive) -> list[tuple[str, str, str]]:
    return sorted((c.id, c.article_id, c.text) for c in archive.passages())


def test_an_update_writes_a_delta_and_links_the_base(
    warm_hash_settings, corpus_copy, tmp_path, deltas
):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    first = live_dir(warm_hash_settings)
    change_corpus(corpus_copy)
    report = archive.update()
    assert (report.added, report.updated, report.removed, report.published) == (1, 1, 1, True)
    second = live_dir(warm_hash_settings)
    assert (second / "delta" / "manifest.json").is_file()
    for name in ("dense.faiss", "meta.sqlite", "bm25/data.csc.index.npy"):
        assert os.stat(first / name).st_ino == os.stat(second / name).st_ino, name
    # only the new and the edited article were chunked and embedded
    reader = IndexReader(warm_hash_settings.index_dir)
    try:
        assert reader.segments is not None
        assert reader.segments.delta.ntotal == report.passages - (
            reader.segments.split.base_rows - len(reader.segments.split.removed)
        )
        assert len(reader.segments.split.removed) > 0
        # the delta holds the new and the edited article, nothing else
        assert isinstance(reader.meta, SegmentedMetadata)
        assert len(reader.meta.delta.article_ids()) == 2
    finally:
        reader.close()

    again = rebuilt(warm_hash_settings, corpus_copy, tmp_path)
    assert report.passages == again.stats().passages
    assert by_id(archive) == by_id(again)
    assert archive.stats().articles == again.stats().articles
    assert set(archive.stats().sources) == set(again.stats().sources)
    ours, theirs = rankings(archive), rankings(again)
    for question in QUESTIONS:
        # the vectors are the same: dense rankings and cosines are exactly a rebuild's
        key = ("dense", question)
        assert [h[0] for h in ours[key]] == [h[0] for h in theirs[key]]
        assert [h[1] for h in ours[key]] == pytest.approx([h[1] for h in theirs[key]], abs=1e-6)
        # keyword scores use the live idf; only the length normalisation's average
        # (the base's) differs from a rebuild's, so the scores are close, not equal
        for mode in ("keyword", "hybrid"):
            a, b = ours[mode, question], theirs[mode, question]
            assert {h[0] for h in a[:3]} == {h[0] for h in b[:3]}, (mode, question)
        a_scores = dict((h[0], h[2]) for h in ours["keyword", question])
        b_scores = dict((h[0], h[2]) for h in theirs["keyword", question])
        for pid in a_scores.keys() & b_scores.keys():
            assert a_scores[pid] == pytest.approx(b_scores[pid], rel=0.05)


def test_removed_and_edited_articles_are_gone_everywhere(warm_hash_settings, corpus_copy, deltas):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    before = {c.article_id for c in archive.passages()}
    removed_file = corpus_copy / "001_b51a48158384c388.txt"
    removed_text = removed_file.read_text(encoding="utf-8")
    change_corpus(corpus_copy)
    archive.update()
    after = {c.article_id for c in archive.passages()}
    gone = before - after
    assert len(gone) == 1
    (gone_id,) = gone
    assert archive.article(gone_id) is None
    reader = IndexReader(warm_hash_settings.index_dir)
    try:
        every = reader.rows_matching(SearchFilters(since=None, until=None, source=None))
        chunks = reader.chunks(every)
        assert len(every) == reader.passages == len(chunks)
        assert gone_id not in {c.article_id for c in chunks.values()}
        for question in [*QUESTIONS, removed_text[:40]]:
            for mode in ("dense", "keyword"):
                options = SearchOptions(k=50, mode=mode, per_article=50, min_score=0)
                hits = archive.search(question, options).hits
                assert gone_id not in {h.chunk.article_id for h in hits}
        # the edited article is its new text, once
        details = [d for d in map(archive.article, after) if d is not None]
        edited = [d for d in details if "更正" in d.article.text]
        assert len(edited) == 1
        live = [c for c in archive.passages() if c.article_id == edited[0].article.id]
        assert [c.id for c in edited[0].passages] == [c.id for c in live]
        # the live sources: the removed file is not among them, the new one is
        paths = {Path(s.path).name for s in reader.meta.sources()}
        assert "001_b51a48158384c388.txt" not in paths and "new.md" in paths
        assert len(paths) == 5
    finally:
        reader.close()


def test_updates_over_a_delta_and_the_compaction(
    warm_hash_settings,
    corpus_copy,
    tmp_path,
    deltas,
    monkeypatch,
):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    first = archive.update()
    assert first.embedded == 1
    # a second update rewrites the delta: the first delta's article is not embedded again
    (corpus_copy / "newer.md").write_text(OTHER_ARTICLE, "utf-8")
    second = archive.update()
    assert (second.added, second.published) == (1, True)
    assert second.embedded == 1  # the new article's one passage, not the first delta's
    assert (live_dir(warm_hash_settings) / "delta").is_dir()
    assert not archive.update().published  # nothing changed: nothing written
    again = rebuilt(warm_hash_settings, corpus_copy, tmp_path)
    assert by_id(archive) == by_id(again)

    # past the share, the next update writes one whole version: exactly a rebuild's
    monkeypatch.setattr(segments, "MAX_DELTA_SHARE", 0.0)
    (corpus_copy / "new.md").unlink()
    compacted = archive.update()
    assert compacted.embedded == 0
    assert not (live_dir(warm_hash_settings) / "delta").exists()
    again = rebuilt(warm_hash_settings, corpus_copy, tmp_path / "2")
    assert [(c.id, c.text) for c in archive.passages()] == [
        (c.id, c.text) for c in again.passages()
    ]
    assert rankings(archive) == rankings(again)


def test_old_versions_go_and_the_linked_base_stays_readable(
    warm_hash_settings, corpus_copy, deltas
):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    base = live_dir(warm_hash_settings)
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    archive.update()
    (corpus_copy / "newer.md").write_text(OTHER_ARTICLE, "utf-8")
    archive.update()
    # garbage collection removed the version whose files the live one links
    assert not base.exists()
    fresh = Archive(warm_hash_settings)
    hits = fresh.search("北极熊", SearchOptions(k=5)).hits
    assert hits and any("北极熊" in h.chunk.text for h in hits)
    assert np.isfinite([h.score for h in hits]).all()


def test_stats_show_the_delta_and_compact_merges_it(
    warm_hash_settings, corpus_copy, tmp_path, deltas
):
    from typer.testing import CliRunner

    from rag.cli import app

    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    assert (archive.stats().delta_passages, archive.stats().removed_passages) == (0, 0)
    change_corpus(corpus_copy)
    archive.update()
    stats = archive.stats()
    assert stats.delta_passages > 0 and stats.removed_passages > 0
    env = {"RAG_CACHE_DIR": str(warm_hash_settings.embedding_cache_dir)}
    index = ["--index", str(warm_hash_settings.index_dir)]
    shown = CliRunner().invoke(app, ["index", "stats", *index], env=env)
    assert shown.exit_code == 0 and f"delta_passages: {stats.delta_passages}" in shown.stdout

    # nothing changed, but --compact writes the whole version: a rebuild's, exactly
    merged = CliRunner().invoke(app, ["index", "update", *index, "--compact", "--json"], env=env)
    assert merged.exit_code == 0, merged.output
    assert '"published": true' in merged.stdout and '"embedded": 0' in merged.stdout
    assert not (live_dir(warm_hash_settings) / "delta").exists()
    assert (archive.stats().delta_passages, archive.stats().removed_passages) == (0, 0)
    again = rebuilt(warm_hash_settings, corpus_copy, tmp_path)
    assert rankings(Archive(warm_hash_settings)) == rankings(again)
    # with no delta left, --compact on an unchanged archive writes nothing
    version = live_dir(warm_hash_settings).name
    assert not Archive(warm_hash_settings).update(compact=True).published
    assert live_dir(warm_hash_settings).name == version


def test_a_changed_title_with_the_same_text_moves_the_article_to_the_delta(
    warm_hash_settings,
    corpus_copy,
    deltas,
):
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    renamed = NEW_ARTICLE.replace("title: 新文章", "title: 北极熊报告").replace(
        "2024-01-02", "2024-02-03"
    )
    (corpus_copy / "new.md").write_text(renamed, encoding="utf-8")
    report = archive.update()
    assert (report.updated, report.published) == (1, True)
    assert (live_dir(warm_hash_settings) / "delta").is_dir()
    hits = archive.search("北极熊", SearchOptions(k=3)).hits
    assert hits[0].article.title == "北极熊报告"
    assert hits[0].article.published is not None and hits[0].article.published.month == 2
    ids = [c.id for c in archive.passages()]  # its old passages are not read twice
    assert len(ids) == len(set(ids)) == report.passages


def test_a_delta_version_says_so_and_a_damaged_delta_is_one_clear_error(
    warm_hash_settings,
    corpus_copy,
    deltas,
):
    """A version with a delta has its own format number (an older tool refuses it rather
    than read the base alone). A delta that lost a file is reported as a damaged index,
    never a traceback, with or without the checksum check."""
    import json

    from rag.errors import IndexCorruptError
    from rag.index.store import DELTA_FORMAT_VERSION, FORMAT_VERSION

    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    assert (
        json.loads((live_dir(warm_hash_settings) / "manifest.json").read_text())["format_version"]
        == FORMAT_VERSION
    )
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    archive.update()
    version = live_dir(warm_hash_settings)
    assert json.loads((version / "manifest.json").read_text())["format_version"] == (
        DELTA_FORMAT_VERSION
    )
    (version / "delta" / "removed.json").unlink()
    with pytest.raises(IndexCorruptError, match=r"damaged: delta/removed.json: missing"):
        IndexReader(warm_hash_settings.index_dir)
    with pytest.raises(IndexCorruptError, match="damaged"):
        IndexReader(warm_hash_settings.index_dir, check="off")
