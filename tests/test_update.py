"""Incremental updates, the embedding cache and duplicate merging, on the real pipeline."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

from conftest import QUESTION, STOCKTAKE

from rag.index.build import build_index
from rag.retrieve import IndexReader

RFI_STOCKTAKE = "000_ea12142fd580669e.txt"


def near_copy(original: Path, target: Path) -> None:
    """The same story re-saved by a feed: new date and URL, boilerplate changed."""
    text = original.read_text(encoding="utf-8")
    text = re.sub(r"<!--\d+-->", "<!--1700150000000-->", text, count=1)
    text = re.sub(
        r"\]\(https://www\.rfi\.fr/cn/[^)]*\)", "](https://rfi.my/mirror/ABC)", text, count=1
    )
    text = text.replace("<div>15/11/2023 - 15:55</div>", "<div>16/11/2023 - 10:00</div>")
    text += "\n<p>本文转载自法广中文网，转载请注明出处。</p>\n"
    target.write_text(text, encoding="utf-8")


def test_no_change_update_embeds_nothing(fresh_settings, corpus_copy):
    build_index([str(corpus_copy)], fresh_settings)
    report = build_index([str(corpus_copy)], fresh_settings, update=True)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert report.embedded == 0


def test_update_adds_changes_and_removes(fresh_settings, corpus_copy, tmp_path):
    first = build_index([str(corpus_copy)], fresh_settings)
    extra = tmp_path / "new.md"
    extra.write_text(
        "---\ntitle: 新文章\ndate: 2024-01-02\nfrom: https://example.org/a\n---\n\n"
        "北极熊数量在过去十年里显著下降，科学家呼吁加强保护。\n",
        encoding="utf-8",
    )
    shutil.copy(extra, corpus_copy / "new.md")
    (corpus_copy / "001_b51a48158384c388.txt").unlink()
    changed = corpus_copy / "002_37bebe61abe63fad.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n<p>更正：本文已更新。</p>\n", "utf-8"
    )

    report = build_index([str(corpus_copy)], fresh_settings, update=True)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 3)
    assert report.articles == 5
    assert 0 < report.embedded < first.passages
    reader = IndexReader(fresh_settings.index_dir)
    titles = {h.article.title for h in reader.search("北极熊", k=10, per_article=1).hits}
    assert "新文章" in titles
    assert "美国气候特使克里 美中合作应对气候危机" not in titles


def test_rebuild_with_unchanged_text_reembeds_nothing(fresh_settings, corpus_copy):
    build_index([str(corpus_copy)], fresh_settings)
    again = build_index([str(corpus_copy)], fresh_settings)
    assert again.embedded == 0 and again.reused_embeddings == again.passages


def test_new_chunking_embeds_only_new_chunk_texts(fresh_settings, corpus_copy):
    first = build_index([str(corpus_copy)], fresh_settings)
    other = replace(fresh_settings, chunk_overlap=fresh_settings.chunk_overlap + 20)
    second = build_index([str(corpus_copy)], other)
    assert second.embedded <= second.passages
    assert second.reused_embeddings > 0 or first.passages == 0
    third = build_index([str(corpus_copy)], other)
    assert third.embedded == 0


def test_duplicates_are_merged_and_distinct_articles_are_not(fresh_settings, corpus_copy):
    original = corpus_copy / RFI_STOCKTAKE
    shutil.copy(original, corpus_copy / "exact-copy.txt")
    near_copy(original, corpus_copy / "near-copy.txt")
    report = build_index([str(corpus_copy)], fresh_settings)
    assert report.articles == 5
    assert report.duplicates_merged == 2
    reader = IndexReader(fresh_settings.index_dir)
    hit = next(h for h in reader.search(QUESTION, k=5).hits if STOCKTAKE in h.chunk.text)
    assert "https://rfi.my/mirror/ABC" in hit.article.urls
    assert len(hit.article.urls) == 2
    assert len({d.date() for d in hit.article.dates}) == 2
