"""Search details over the test-hash sample index and small keyword indexes: scripts and
widths, filters inside the search, fusion, sentence coverage, term weights (what e5
ranks, and the no-answer threshold, are in integration/test_search.py)."""

from __future__ import annotations

import pytest
from support.cmrc import AIRPORT_QUESTION, airport
from support.sample import QUESTION

from rag.build.chunking import split_with_offsets
from rag.index.sparse import KeywordIndex, keyword_text
from rag.index.tokenize import tokenize
from rag.records import SearchFilters, SearchOptions, parse_day
from rag.search.retrieve import reciprocal_rank_fusion
from rag.text.sentences import best_sentence_coverage


def test_simplified_question_finds_traditional_passage(hash_archive):
    # the RFI article writes 采訪 and 盡管 (traditional 訪, 盡) in an otherwise simplified text
    hits = hash_archive.search("接受采访 尽管", SearchOptions(k=3, mode="keyword")).hits
    assert hits and "采訪" in hits[0].chunk.text and "盡管" in hits[0].chunk.text


def test_traditional_question_finds_simplified_passage(hash_archive):
    hits = hash_archive.search(
        "中國氣候變化事務特使解振華", SearchOptions(k=3, mode="keyword")
    ).hits
    assert hits and "解振华" in hits[0].chunk.text
    assert "解振華" not in hits[0].chunk.text  # shown as written, not converted


def test_tokens_are_script_and_width_independent():
    assert tokenize("氣候變化 ＣＯＰ２８") == tokenize("气候变化 COP28")


def test_since_excludes_the_2021_article(hash_archive):
    hits = hash_archive.search(
        "格拉斯哥联合宣言",
        SearchOptions(k=10, per_article=0, filters=SearchFilters(since=parse_day("2023-01-01"))),
    ).hits
    assert hits
    assert all(h.article.published.year == 2023 for h in hits)
    unfiltered = hash_archive.search("格拉斯哥联合宣言", SearchOptions(k=10, per_article=0)).hits
    assert any(h.article.published.year == 2021 for h in unfiltered)


def test_until_and_source_filters(hash_archive):
    until = SearchFilters(until=parse_day("2021-12-31", end_of_day=True))
    hits = hash_archive.search(QUESTION, SearchOptions(k=5, filters=until)).hits
    assert hits and {h.article.source for h in hits} == {"voachinese.com"}
    voa = hash_archive.search(
        QUESTION, SearchOptions(k=5, filters=SearchFilters(source="voa"))
    ).hits
    assert voa and all("voachinese" in h.article.source for h in voa)


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_filter_is_applied_inside_the_search(hash_archive, mode):
    # only one article is from July 2023; a post-hoc trim of a top-k would return fewer
    only_july = SearchFilters(since=parse_day("2023-07-01"), until=parse_day("2023-07-31", True))
    hits = hash_archive.search(
        QUESTION, SearchOptions(k=2, per_article=2, mode=mode, filters=only_july)
    ).hits
    assert len(hits) == 2 or mode == "keyword"
    assert hits and all(h.article.published.month == 7 for h in hits)


def test_a_filter_matching_nothing_returns_nothing_with_a_message(hash_archive):
    result = hash_archive.search(QUESTION, SearchOptions(filters=SearchFilters(source="nytimes")))
    assert result.hits == ()
    assert "no article matches" in (result.notice or "")


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 9.0), (1, 5.0)]])
    assert [row for row, _ in fused][:2] == [1, 3]


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


def test_the_title_is_part_of_every_passage_on_the_keyword_side():
    title, context = airport()
    spans = split_with_offsets(context, 300, 50)
    passages = [context[a:b] for a, b in spans]
    answer = next(i for i, p in enumerate(passages) if "三条跑道" in p)
    with_title = KeywordIndex.build([keyword_text(title, p) for p in passages], "jieba+bigram")
    without = KeywordIndex.build(passages, "jieba+bigram")
    assert with_title.search(AIRPORT_QUESTION, 1)[1][0] == answer
    assert without.search(AIRPORT_QUESTION, 1)[1][0] != answer  # the lead names the airport
