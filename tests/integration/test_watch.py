"""Watched questions over the real pipeline: a watch on the sample archive, two news
articles pulled from a feed served on 127.0.0.1, e5 deciding which one is relevant;
the digest and the pull's exit code, a second pull and check, and the watch's Atom feed
(what counts as new, the lock, a killed check and the feed's validity are in
unit/test_watch.py, over test-hash)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.atom import check_atom
from support.feed_server import Entry, FeedServer, Route, rss
from support.sample import SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import load_settings
from rag.web.app import create_app

QUESTION = "中美气候合作"
RELEVANT = "中美气候特使再度会谈 同意扩大甲烷减排合作"
UNRELATED = "日本央行维持超低利率不变 日元汇率走弱"
PAGES = {
    "climate": (
        RELEVANT,
        [
            "中国气候变化事务特使与美国总统气候问题特使本周在华盛顿再度会谈，双方同意扩大在甲烷减排、"
            "可再生能源和森林保护方面的合作。",
            "双方表示，中美两国作为世界上最大的温室气体排放国，将在下一届联合国气候变化大会之前"
            "共同制定减排路线图，并恢复中美气候合作工作组的定期会议。",
            "分析人士认为，尽管两国在贸易和安全问题上分歧严重，气候合作仍是中美关系中少有的亮点。",
        ],
    ),
    "boj": (
        UNRELATED,
        [
            "日本银行周五结束为期两天的货币政策会议，决定维持短期利率在负0.1%的水平不变，"
            "并继续将十年期国债收益率控制在零左右。",
            "日本银行行长在记者会上表示，工资增长仍不足以支撑物价持续稳定上涨，现在退出宽松政策为时尚早。",
            "消息公布后，日元兑美元汇率走弱，东京股市日经指数小幅上涨。",
        ],
    ),
}


@pytest.fixture()
def server() -> Iterator[FeedServer]:
    server = FeedServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def rag(*args: str, exit_code: int = 0) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def test_a_watch_reports_the_relevant_article_of_a_pull_once(
    server, tmp_path: Path, monkeypatch, embedding_cache, sample_index
):
    monkeypatch.setenv("RAG_CACHE_DIR", str(embedding_cache))
    monkeypatch.setenv("RAG_FEED_ALLOW_PRIVATE", "true")  # the feed server is on 127.0.0.1
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    news, index = tmp_path / "news", tmp_path / "index"
    shutil.copytree(SAMPLE, news)
    Archive(load_settings(index_dir=index)).build([str(news)])
    rag("watch", "add", QUESTION, "--name", "climate", "--index", str(index))

    entries = []
    for n, (name, (title, paragraphs)) in enumerate(PAGES.items()):
        html = f"<html><body><article><h1>{title}</h1>"
        html += "".join(f"<p>{p}</p>" for p in paragraphs) + "</article></body></html>"
        server.routes[f"/articles/{name}.html"] = Route(html.encode())
        link = f"{server.base_url}/articles/{name}.html"
        entries.append(Entry(title, link, link, datetime(2024, 5, 20 + n, 8, tzinfo=UTC)))
    server.routes["/feed.xml"] = Route(rss("新闻", entries), "application/rss+xml; charset=utf-8")
    feed = f"{server.base_url}/feed.xml"
    rag("feed", "add", feed, "--archive", str(tmp_path / "feeds"), "--index", str(index))

    # --exit-code: 3, the digest found something new
    pulled = rag("feed", "pull", "--index", str(index), "--watch", "--exit-code", exit_code=3)
    assert pulled["new_items"] == 2 and pulled["index"]["articles_after"] == 7
    digest = pulled["watch"]["watches"][0]
    assert [i["title"] for i in digest["items"]] == [RELEVANT]
    item = digest["items"][0]
    assert item["url"] == f"{server.base_url}/articles/climate.html"
    assert item["published"].startswith("2024-05-20")
    assert item["outlet"] and item["sentence"] and item["sentence"] in item["passage"]
    assert item["score"] >= 0.87  # the relevance threshold for Chinese questions

    again = rag("feed", "pull", "--index", str(index), "--watch", "--exit-code")  # 0: nothing new
    assert again["new_items"] == 0 and again["watch"]["new"] == 0
    assert rag("watch", "check", "--index", str(index))["new"] == 0

    with TestClient(create_app(load_settings(index_dir=index)), base_url="http://127.0.0.1") as web:
        answer = web.get("/watch/climate.atom")
    assert answer.status_code == 200, answer.text
    parsed = check_atom(answer.content)
    assert [(e.title, e.link) for e in parsed.entries] == [(RELEVANT, item["url"])]
    assert item["url"] in parsed.entries[0].content[0].value
