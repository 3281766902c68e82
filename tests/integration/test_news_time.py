"""News-aware questions on the real sample index: what e5 finds inside a time window, a
story's timeline in date order, per-source caps and newest-first ordering of real
results (the windows' plumbing runs with test-hash in unit/test_news_time.py)."""

from __future__ import annotations

import json
import shutil

from fastapi.testclient import TestClient
from support.sample import QUESTION, SAMPLE
from support.web_support import SYNDICATED_HOST, write_syndicated_copy
from typer.testing import CliRunner

from rag import Archive, SearchFilters, SearchOptions, Settings
from rag.cli import app
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
    client = TestClient(create_app(sample_index[0]), base_url="http://127.0.0.1")
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


LATEST_CLIMATE = "20231129-"  # the newest of the five sample articles


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
