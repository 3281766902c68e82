"""News-aware questions on the real sample index: time words become a date window,
explicit dates win, an empty window says so, and a story's timeline is in date order."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date

import pytest
from fastapi.testclient import TestClient
from support.sample import QUESTION, SAMPLE
from support.web_support import SYNDICATED_HOST, write_syndicated_copy
from typer.testing import CliRunner

from rag import Archive, SearchFilters, SearchOptions, Settings
from rag.cli import app
from rag.search.recency import newest_first, recency_word
from rag.web.app import create_app

runner = CliRunner()


def rag_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_last_week_is_the_monday_to_sunday_before_as_of(sample_index):
    index = str(sample_index[0].index_dir)
    data = rag_json("ask", "上周中美气候谈判谈了什么", "--as-of", "2023-11-20", "--index", index)
    assert data["time_window"] == {
        "start": "2023-11-13",
        "end": "2023-11-19",
        "expression": "上周",
        "outside": False,
    }
    assert data["hits"] and data["found"]
    assert all("2023-11-13" <= h["published"][:10] <= "2023-11-19" for h in data["hits"])
    assert data["answer"]["mode"] == "extractive"


def test_an_english_year_keeps_only_that_year(sample_index):
    index = str(sample_index[0].index_dir)
    data = rag_json("ask", "What did the US and China agree in 2021?", "--index", index)
    assert data["time_window"]["expression"] == "in 2021"
    assert data["hits"] and all(h["published"].startswith("2021") for h in data["hits"])


def test_explicit_dates_override_the_time_words(sample_archive):
    options = SearchOptions(
        filters=SearchFilters.parse(since="2023-11-29", until="2023-11-29"),
        as_of=date(2023, 11, 20),
    )
    result = sample_archive.search("上周中美气候谈判谈了什么", options)
    assert result.time_window is None
    assert result.hits and all(
        h.article.published.date() == date(2023, 11, 29) for h in result.hits
    )


def test_an_empty_window_says_so_and_shows_the_closest_passages_outside(sample_archive):
    result = sample_archive.search("去年中美谈了什么", SearchOptions(as_of=date(2023, 11, 20)))
    assert result.time_window is not None and result.time_window.expression == "去年"
    assert result.outside_window and result.hits
    assert "2022-01-01 – 2022-12-31" in (result.notice or "")
    assert all(h.article.published.year != 2022 for h in result.hits)


def test_time_words_can_stay_plain_words(sample_index):
    index = str(sample_index[0].index_dir)
    data = rag_json(
        "ask", "去年中美谈了什么", "--as-of", "2023-11-20", "--no-time-window", "--index", index
    )
    assert data["time_window"] is None and not data["filters"]["since"]


def test_the_text_output_shows_the_window(sample_index):
    index = str(sample_index[0].index_dir)
    result = runner.invoke(
        app, ["ask", "上周中美气候谈判谈了什么", "--as-of", "2023-11-20", "--index", index]
    )
    assert result.exit_code == 0, result.output
    assert "时间范围 2023-11-13 – 2023-11-19 (上周)" in result.stdout


def test_a_bad_as_of_is_a_usage_error(sample_index):
    index = str(sample_index[0].index_dir)
    result = runner.invoke(app, ["ask", QUESTION, "--as-of", "2023-13-40", "--index", index])
    assert result.exit_code == 2
    assert "as_of = '2023-13-40' (from flag --as-of)" in result.stderr


def test_timeline_lists_the_five_sample_articles_oldest_first(sample_index):
    index = str(sample_index[0].index_dir)
    data = rag_json("timeline", "中美气候合作", "--index", index)
    dates = [e["published"][:10] for e in data["entries"]]
    assert dates == ["2021-11-10", "2023-07-17", "2023-11-09", "2023-11-15", "2023-11-29"]
    for entry in data["entries"]:
        assert entry["title"] and entry["url"] and entry["source"] and entry["sentence"]


def test_timeline_filters_and_relevance_cut(sample_archive):
    only_2023 = sample_archive.timeline(
        "中美气候合作", SearchOptions(filters=SearchFilters.parse(since="2023-01-01"))
    )
    assert [e.published.year for e in only_2023.entries] == [2023] * 4
    unrelated = sample_archive.timeline("北极熊的栖息地")
    assert unrelated.entries == () and unrelated.notice


def test_timeline_folds_a_syndicated_copy_into_one_entry(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    write_syndicated_copy(corpus)
    settings = Settings(index_dir=tmp_path / "index")
    Archive(settings).build([str(corpus)])
    data = rag_json("timeline", "中美气候合作", "--index", str(settings.index_dir))
    titles = [e["title"] for e in data["entries"]]
    assert len(titles) == 5 and titles.count("中美气候合作声明有何新意？") == 1
    folded = next(e for e in data["entries"] if e["title"] == "中美气候合作声明有何新意？")
    assert folded["also_reported_by"] == [SYNDICATED_HOST.removeprefix("www.")]
    assert all(e["also_reported_by"] == [] for e in data["entries"] if e is not folded)
    # the entry's offsets point at its sentence in the article's text
    text = Archive(settings).article(folded["article_id"]).article.text
    assert text[folded["start"] : folded["end"]] == folded["sentence"]


def test_timeline_over_http(sample_index):
    client = TestClient(create_app(sample_index[0]))
    response = client.get("/api/timeline", params={"q": "中美气候合作"})
    assert response.status_code == 200
    dates = [e["published"][:10] for e in response.json()["entries"]]
    assert dates == sorted(dates) and len(dates) == 5
    window = client.get("/api/search", params={"q": "上周中美谈了什么", "as_of": "2023-11-20"})
    assert window.json()["time_window"]["start"] == "2023-11-13"


def test_per_source_keeps_one_outlet_from_filling_the_list(sample_archive, sample_index):
    unlimited = sample_archive.search(QUESTION, SearchOptions(k=5, per_article=1))
    assert [h.article.source for h in unlimited.hits].count("rfi.fr") == 4
    capped = sample_archive.search(QUESTION, SearchOptions(k=5, per_article=1, per_source=2))
    sources = [h.article.source for h in capped.hits]
    assert sources.count("rfi.fr") == 2 and sources.count("voachinese.com") == 1
    # the first hit is the same: the cap only removes, never reorders
    assert capped.hits[0].chunk.id == unlimited.hits[0].chunk.id
    index = str(sample_index[0].index_dir)
    data = rag_json("ask", QUESTION, "--per-source", "1", "--index", index, "--no-answer")
    assert sorted(h["source"] for h in data["hits"]) == ["rfi.fr", "voachinese.com"]


def test_a_broken_news_question_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "上周谈了什么"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", str(bad), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("error: ") and "not a readable news question file" in result.stderr
    )
    assert "Traceback" not in result.output


LATEST_CLIMATE = "20231129-"  # the newest of the five sample articles


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


def test_latest_puts_the_newest_relevant_article_first(sample_index):
    index = str(sample_index[0].index_dir)
    question = "中美气候合作的最新进展是什么？"
    newest = rag_json("ask", question, "--no-answer", "--index", index)
    assert newest["recency"] == "最新"
    assert LATEST_CLIMATE in newest["hits"][0]["url"]
    plain = rag_json("ask", question, "--no-answer", "--no-recency", "--index", index)
    assert plain["recency"] is None
    assert LATEST_CLIMATE not in plain["hits"][0]["url"]
    # the same passages, only reordered, and ranks renumbered from 1
    assert {h["chunk_id"] for h in newest["hits"]} <= {
        h["chunk_id"]
        for h in rag_json(
            "ask", question, "--no-answer", "--no-recency", "-k", "10", "--index", index
        )["hits"]
    }
    assert [h["rank"] for h in newest["hits"]] == list(range(1, len(newest["hits"]) + 1))


def test_newest_first_leaves_clearly_less_relevant_passages_alone(sample_archive):
    plain = sample_archive.search(QUESTION, SearchOptions(k=5, prefer_recent=False)).hits
    best = max(h.score for h in plain)
    reordered = newest_first(plain, min_score=0.0, band=0.0)
    assert reordered[0].score == best  # a zero band moves only the best passage
    assert [h.chunk.id for h in reordered[1:]] == [h.chunk.id for h in plain if h.score != best]
    assert newest_first(plain, min_score=1.0) == [
        replace(h, rank=i) for i, h in enumerate(plain, 1)
    ]  # nothing relevant enough: relevance order kept
