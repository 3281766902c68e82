"""Hybrid search details on the sample index: scripts, filters, fusion."""

from __future__ import annotations

import json

import pytest
from support.sample import QUESTION, ROOT, STOCKTAKE

from rag.archive import Archive
from rag.build.chunking import split_with_offsets
from rag.eval.retrieval import write_paragraph_articles
from rag.index.sparse import KeywordIndex, keyword_text
from rag.index.tokenize import tokenize
from rag.records import SearchFilters, SearchOptions, parse_day
from rag.search.retrieve import reciprocal_rank_fusion, rerank_by_sentence
from rag.text.sentences import best_sentence_coverage


def test_simplified_question_finds_traditional_passage(sample_archive):
    # the RFI article writes 采訪 and 盡管 (traditional 訪, 盡) in an otherwise simplified text
    hits = sample_archive.search("接受采访 尽管", SearchOptions(k=3, mode="keyword")).hits
    assert hits and "采訪" in hits[0].chunk.text and "盡管" in hits[0].chunk.text


def test_traditional_question_finds_simplified_passage(sample_archive):
    hits = sample_archive.search(
        "中國氣候變化事務特使解振華", SearchOptions(k=3, mode="keyword")
    ).hits
    assert hits and "解振华" in hits[0].chunk.text
    assert "解振華" not in hits[0].chunk.text  # shown as written, not converted


def test_tokens_are_script_and_width_independent():
    assert tokenize("氣候變化 ＣＯＰ２８") == tokenize("气候变化 COP28")


def test_since_excludes_the_2021_article(sample_archive):
    hits = sample_archive.search(
        "格拉斯哥联合宣言",
        SearchOptions(k=10, per_article=0, filters=SearchFilters(since=parse_day("2023-01-01"))),
    ).hits
    assert hits
    assert all(h.article.published.year == 2023 for h in hits)
    unfiltered = sample_archive.search("格拉斯哥联合宣言", SearchOptions(k=10, per_article=0)).hits
    assert any(h.article.published.year == 2021 for h in unfiltered)


def test_until_and_source_filters(sample_archive):
    until = SearchFilters(until=parse_day("2021-12-31", end_of_day=True))
    hits = sample_archive.search(QUESTION, SearchOptions(k=5, filters=until)).hits
    assert hits and {h.article.source for h in hits} == {"voachinese.com"}
    voa = sample_archive.search(
        QUESTION, SearchOptions(k=5, filters=SearchFilters(source="voa"))
    ).hits
    assert voa and all("voachinese" in h.article.source for h in voa)


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_filter_is_applied_inside_the_search(sample_archive, mode):
    # only one article is from July 2023; a post-hoc trim of a top-k would return fewer
    only_july = SearchFilters(since=parse_day("2023-07-01"), until=parse_day("2023-07-31", True))
    hits = sample_archive.search(
        QUESTION, SearchOptions(k=2, per_article=2, mode=mode, filters=only_july)
    ).hits
    assert len(hits) == 2 or mode == "keyword"
    assert hits and all(h.article.published.month == 7 for h in hits)


def test_a_filter_matching_nothing_returns_nothing_with_a_message(sample_archive):
    result = sample_archive.search(QUESTION, SearchOptions(filters=SearchFilters(source="nytimes")))
    assert result.hits == ()
    assert "no article matches" in (result.notice or "")


def test_hybrid_keeps_the_stocktake_passage_first(sample_archive):
    hits = sample_archive.search(QUESTION, SearchOptions(k=3)).hits
    assert any(STOCKTAKE in h.chunk.text for h in hits)


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 9.0), (1, 5.0)]])
    assert [row for row, _ in fused][:2] == [1, 3]


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


def test_best_sentence_coverage_weighs_terms_within_one_sentence():
    weights = {"伊丽莎白港": 2.0, "机场": 1.0, "跑道": 3.0}
    text = "伊丽莎白港机场位于南非。机场有三条跑道。"
    assert best_sentence_coverage(weights, text) == pytest.approx(4 / 6)
    # the title is part of every sentence: the second one now holds the whole question
    assert best_sentence_coverage(weights, text, context="伊丽莎白港机场") == pytest.approx(1.0)
    assert best_sentence_coverage(weights, "機場有三條跑道。") == pytest.approx(4 / 6)
    assert best_sentence_coverage({"us": 1.0}, "Business news.") == 0.0
    assert best_sentence_coverage({"us": 1.0}, "The US said so.") == 1.0


def test_term_weights_are_idf_of_the_question_terms():
    index = KeywordIndex.build(["机场有三条跑道", "机场位于南非", "机场很大"], "jieba+bigram")
    weights = index.term_weights("机场跑道在哪里")
    assert weights["跑道"] > weights["机场"] > 0  # in one passage against all three
    assert "哪里" not in weights  # not in the index
    assert not any(term.startswith("\u2016") for term in weights)


def _airport() -> tuple[str, str]:
    """A CMRC paragraph whose lead names the airport and whose answer to "how many
    runways" names it only in the title."""
    data = json.loads((ROOT / "tests/data/cmrc2018/cmrc2018_trial.json").read_text("utf-8"))
    item = next(i for i in data["data"] if i["title"].startswith("伊丽莎白港机场"))
    return item["title"], item["paragraphs"][0]["context"]


AIRPORT_QUESTION = "伊丽莎白港机场有几条跑道？"


def test_hybrid_puts_the_passage_that_answers_first(tmp_path, fresh_settings):
    title, context = _airport()
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


def test_the_title_is_part_of_every_passage_on_the_keyword_side():
    title, context = _airport()
    spans = split_with_offsets(context, 300, 50)
    passages = [context[a:b] for a, b in spans]
    answer = next(i for i, p in enumerate(passages) if "三条跑道" in p)
    with_title = KeywordIndex.build([keyword_text(title, p) for p in passages], "jieba+bigram")
    without = KeywordIndex.build(passages, "jieba+bigram")
    assert with_title.search(AIRPORT_QUESTION, 1)[1][0] == answer
    assert without.search(AIRPORT_QUESTION, 1)[1][0] != answer  # the lead names the airport
