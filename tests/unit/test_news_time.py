"""News-aware questions over the test-hash sample index: time words become a date
window, explicit dates win, an empty window says so, recency words, newest-first (what e5
ranks inside a window, and timelines, are in integration/test_news_time.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from support.sample import QUESTION
from typer.testing import CliRunner

from rag import SearchFilters, SearchOptions
from rag.cli import app
from rag.search.recency import newest_first, recency_word

runner = CliRunner()


def rag_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_explicit_dates_override_the_time_words(hash_archive):
    options = SearchOptions(
        filters=SearchFilters.parse(since="2023-11-29", until="2023-11-29"),
        as_of=date(2023, 11, 20),
    )
    result = hash_archive.search("上周中美气候谈判谈了什么", options)
    assert result.time_window is None
    assert result.hits and all(
        h.article.published.date() == date(2023, 11, 29) for h in result.hits
    )


def test_an_empty_window_says_so_and_shows_the_closest_passages_outside(hash_archive):
    result = hash_archive.search("去年中美谈了什么", SearchOptions(as_of=date(2023, 11, 20)))
    assert result.time_window is not None and result.time_window.expression == "去年"
    assert result.outside_window and result.hits
    assert "2022-01-01 – 2022-12-31" in (result.notice or "")
    assert all(h.article.published.year != 2022 for h in result.hits)


def test_time_words_can_stay_plain_words(hash_index):
    index = str(hash_index[0].index_dir)
    data = rag_json(
        "ask", "去年中美谈了什么", "--as-of", "2023-11-20", "--no-time-window", "--index", index
    )
    assert data["time_window"] is None and not data["filters"]["since"]


def test_the_text_output_shows_the_window(hash_index):
    index = str(hash_index[0].index_dir)
    result = runner.invoke(
        app, ["ask", "上周中美气候谈判谈了什么", "--as-of", "2023-11-20", "--index", index]
    )
    assert result.exit_code == 0, result.output
    assert "时间范围 2023-11-13 – 2023-11-19 (上周)" in result.stdout


def test_a_bad_as_of_is_a_usage_error(hash_index):
    index = str(hash_index[0].index_dir)
    result = runner.invoke(app, ["ask", QUESTION, "--as-of", "2023-13-40", "--index", index])
    assert result.exit_code == 2
    assert "as_of = '2023-13-40' (from flag --as-of)" in result.stderr


def test_a_broken_news_question_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "上周谈了什么"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", str(bad), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("error: ") and "not a readable news question file" in result.stderr
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("中美气候合作的最新进展是什么？", "最新"),
        ("最近关于香港的文章讨论了什么？", "最近"),
        ("近期有哪些抵制人脸识别的事？", "近期"),
        ("近來有什麼報道？", "近來"),
        ("What is the LATEST on climate talks?", "LATEST"),
        ("the most recent story about facial recognition", "most recent"),
        ("What did Kerry say recently?", "recently"),
        ("最近三天中美谈了什么", None),  # a window (rag.search.timeexpr), not a preference
        ("最近3个月的气候新闻", None),
        ("中美在COP28上承诺了什么", None),
        ("Will they recentralize power?", None),
    ],
)
def test_recency_words(question, word):
    assert recency_word(question) == word


def test_newest_first_leaves_clearly_less_relevant_passages_alone(hash_archive):
    plain = hash_archive.search(QUESTION, SearchOptions(k=5, prefer_recent=False)).hits
    best = max(h.score for h in plain)
    reordered = newest_first(plain, min_score=0.0, band=0.0)
    assert reordered[0].score == best  # a zero band moves only the best passage
    assert [h.chunk.id for h in reordered[1:]] == [h.chunk.id for h in plain if h.score != best]
    assert newest_first(plain, min_score=1.0) == [
        replace(h, rank=i) for i, h in enumerate(plain, 1)
    ]  # nothing relevant enough: relevance order kept
