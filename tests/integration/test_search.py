"""Hybrid search on the real sample index: what e5 ranks first, the no-answer threshold,
the sentence rerank (scripts, filters and fusion are checked in unit/test_search.py)."""

from __future__ import annotations

import pytest
from support.cmrc import AIRPORT_QUESTION, airport
from support.sample import QUESTION, STOCKTAKE

from rag.archive import Archive
from rag.eval.retrieval import write_paragraph_articles
from rag.records import SearchOptions
from rag.search.retrieve import reciprocal_rank_fusion, rerank_by_sentence


def test_hybrid_keeps_the_stocktake_passage_first(sample_archive):
    hits = sample_archive.search(QUESTION, SearchOptions(k=3)).hits
    assert any(STOCKTAKE in h.chunk.text for h in hits)


@pytest.mark.parametrize(
    ("question", "answerable"),
    [
        (QUESTION, True),
        ("What did China and the US promise at COP28?", True),
        ("克里什么时候访问北京", True),
        ("秘鲁的首都是哪里", False),
        ("怎么做酸面包", False),
        ("Who painted the Mona Lisa?", False),
    ],
)
def test_no_answer_threshold(sample_archive, question, answerable):
    result = sample_archive.search(question, SearchOptions(k=3))
    assert result.no_answer is not answerable
    assert result.hits  # the closest passages stay attached for reference
    if not answerable:
        assert "relevant" in (result.notice or "")


def test_hybrid_puts_the_passage_that_answers_first(tmp_path, fresh_settings):
    title, context = airport()
    write_paragraph_articles([("airport", title, context)], tmp_path / "a")
    with Archive(fresh_settings) as archive:
        archive.build([str(tmp_path / "a")])
        hits = archive.search(AIRPORT_QUESTION, SearchOptions(k=3, per_article=0)).hits
        # when dense and keyword disagree, the best sentence decides
        reader = archive._live()[0]
        rows = [h.chunk for h in hits]
        lead = next(c for c in rows if c.ordinal == 0)
        answer = next(c for c in rows if "三条跑道" in c.text)
        by_row = reader.chunks(list(range(reader.passages)))
        lead_row = next(r for r, c in by_row.items() if c.id == lead.id)
        answer_row = next(r for r, c in by_row.items() if c.id == answer.id)
        lists = [[(lead_row, 1.0), (answer_row, 0.5)], [(answer_row, 1.0), (lead_row, 0.5)]]
        fused = reciprocal_rank_fusion(lists)
        reranked = rerank_by_sentence(reader, AIRPORT_QUESTION, lists, fused)
    assert "三条跑道" in hits[0].chunk.text
    assert fused[0][0] == min(lead_row, answer_row)  # a tie, broken by row
    assert reranked[0][0] == answer_row
