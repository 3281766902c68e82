"""Incremental updates, the embedding cache and duplicate merging, on the real pipeline
with the test-hash embedder (integration/test_update.py finds a merged story by search)."""

from __future__ import annotations

from support.sample import STOCKTAKE
from support.updates import (
    NEW_ARTICLE,
    build_with_two_copies_of_the_stocktake,
    check_merged_article,
)

from rag.archive import Archive
from rag.build.chunking import embedding_text
from rag.records import SearchOptions


def embedded_texts(archive: Archive) -> set[str]:
    """What the embedder saw for each passage of the live version (title + passage)."""
    titles: dict[str, str] = {}
    texts = set()
    for chunk in archive.passages():
        if chunk.article_id not in titles:
            detail = archive.article(chunk.article_id)
            assert detail is not None
            titles[chunk.article_id] = detail.article.title
        texts.add(embedding_text(titles[chunk.article_id], chunk.text))
    return texts


def article_ids(archive: Archive) -> set[str]:
    return {chunk.article_id for chunk in archive.passages()}


def test_a_build_from_a_warm_cache_embeds_nothing(warm_hash_settings, corpus_copy):
    report = Archive(warm_hash_settings).build([str(corpus_copy)])
    assert report.articles == 5
    assert report.embedded == 0 and report.reused_embeddings == report.passages


def test_no_change_update_embeds_nothing(warm_hash_settings, corpus_copy):
    archive = Archive(warm_hash_settings)
    first = archive.build([str(corpus_copy)])
    report = archive.update()
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert report.embedded == 0 and report.reused_embeddings == report.passages
    assert report.previous_articles == report.articles == 5
    assert report.passages == first.passages


def test_adding_one_article_embeds_exactly_its_passages(warm_hash_settings, corpus_copy):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    before = article_ids(archive)
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")

    report = archive.update()
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 5)
    assert (report.previous_articles, report.articles) == (5, 6)
    (new_id,) = article_ids(archive) - before
    detail = archive.article(new_id)
    assert detail is not None and detail.article.title == "新文章"
    assert report.embedded == len(detail.passages) > 0
    assert report.reused_embeddings == report.passages - report.embedded


def test_update_adds_changes_and_removes(warm_hash_settings, corpus_copy, tmp_path):
    archive = Archive(warm_hash_settings)
    first = archive.build([str(corpus_copy)])
    before = embedded_texts(archive)
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    (corpus_copy / "001_b51a48158384c388.txt").unlink()
    changed = corpus_copy / "002_37bebe61abe63fad.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n<p>更正：本文已更新。</p>\n", "utf-8"
    )

    report = archive.update([str(corpus_copy)])
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 3)
    assert report.articles == 5 and report.previous_articles == 5
    # exactly the passages whose text is new (the new article, the changed article's
    # edited end) were embedded; everything else came from the cache
    new_texts = embedded_texts(archive) - before
    assert any("北极熊" in t for t in new_texts) and any("更正" in t for t in new_texts)
    assert report.embedded == len(new_texts)
    assert report.embedded < first.passages
    titles = {
        h.article.title for h in archive.search("北极熊", SearchOptions(k=10, per_article=1)).hits
    }
    assert "新文章" in titles
    assert "美国气候特使克里 美中合作应对气候危机" not in titles


def test_rebuild_with_unchanged_text_reembeds_nothing(warm_hash_settings, corpus_copy):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    again = archive.build([str(corpus_copy)])
    assert again.embedded == 0 and again.reused_embeddings == again.passages


def test_new_chunking_embeds_only_new_chunk_texts(warm_hash_settings, corpus_copy):
    first_archive = Archive(warm_hash_settings)
    first_archive.build([str(corpus_copy)])
    first_texts = embedded_texts(first_archive)
    other = warm_hash_settings.with_overrides(
        "test", chunk_overlap=warm_hash_settings.chunk_overlap + 20
    )
    second_archive = Archive(other)
    second = second_archive.build([str(corpus_copy)])
    second_texts = embedded_texts(second_archive)
    # the passages whose text the old chunking already produced are reused, not re-embedded
    assert second_texts & first_texts
    assert second.embedded == len(second_texts - first_texts) > 0
    third = second_archive.build([str(corpus_copy)])
    assert third.embedded == 0


def test_duplicates_are_merged_and_distinct_articles_are_not_plumbing(
    warm_hash_settings, corpus_copy
):
    archive = build_with_two_copies_of_the_stocktake(warm_hash_settings, corpus_copy)
    chunk = next(c for c in archive.passages() if STOCKTAKE in c.text)
    detail = archive.article(chunk.article_id)
    assert detail is not None
    check_merged_article(detail.article)
