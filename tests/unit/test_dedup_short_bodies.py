"""Different stories are never merged for a body too short to tell them apart, nor when
their titles and URLs both differ; syndicated copies of one story still merge. Built with
the ``test-hash`` embedder (the plumbing of build and search, not retrieval quality)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from rag import Archive, SearchOptions, Settings
from rag.cli import app
from rag.feeds.records import FeedItem
from rag.feeds.save import fallback_body, seed_text
from rag.ingest import load_article, merge_duplicates
from rag.ingest.dedup import MIN_JUDGED_CHARS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpus" / "sample"
TEASER = "点击阅读全文。"
STORIES = [
    (
        "上海港集装箱吞吐量创新高",
        "https://news.example.cn/economy/2024/0105/port.html",
        1704412800000,
    ),
    ("北京冬季空气质量持续改善", "https://www.example.com.tw/env/20240212-air", 1707696000000),
    ("台风“海葵”登陆福建沿海", "https://rss.example.org/world/typhoon-haikui", 1693526400000),
]


def write_seed(folder: Path, name: str, title: str, url: str, stamp: int, body: str) -> Path:
    path = folder / name
    path.write_text(f"<!--{stamp}-->\n[{title}]({url})\n------\n{body}\n", encoding="utf-8")
    return path


def build_json(corpus: Path, index: Path) -> dict:
    result = CliRunner().invoke(
        app,
        ["index", "build", str(corpus), "--index", str(index), "--json"],
        env={"RAG_EMBEDDER": "test-hash", "RAG_CONFIG": ""},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_three_teaser_stories_build_as_three_articles(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, (title, url, stamp) in enumerate(STORIES):
        write_seed(corpus, f"{n}.txt", title, url, stamp, f"<div><p>{TEASER}</p></div>")
    report = build_json(corpus, tmp_path / "index")
    assert (report["articles"], report["duplicates_merged"]) == (3, 0)
    with Archive(Settings(index_dir=tmp_path / "index", embedder="test-hash")) as archive:
        for title, url, _ in STORIES:
            hits = archive.search(title, SearchOptions(mode="keyword", k=1)).hits
            assert (hits[0].article.title, hits[0].article.url) == (title, url)
            assert hits[0].article.urls == (url,)


def test_feed_fallbacks_keep_their_own_title_and_url(tmp_path: Path) -> None:
    """Items whose page failed are saved with the feed's short text (as rag feed pull
    writes them); each stays its own article."""
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    for n, (title, url, stamp) in enumerate(STORIES):
        item = FeedItem("https://news.example.cn/rss.xml", f"guid-{n}", title, url, None, TEASER)
        when = datetime.fromtimestamp(stamp / 1000, tz=UTC)
        text = seed_text(title, url, when, fallback_body(item, "HTTP 404 Not Found"))
        (archive_dir / f"item-{n}.txt").write_text(text, encoding="utf-8")
    report = build_json(archive_dir, tmp_path / "index")
    assert (report["articles"], report["duplicates_merged"]) == (3, 0)
    with Archive(Settings(index_dir=tmp_path / "index", embedder="test-hash")) as archive:
        ids = {chunk.article_id for chunk in archive.passages()}
        found = [archive.article(article_id) for article_id in ids]
    saved = {(d.article.title, d.article.url, d.article.urls) for d in found if d is not None}
    assert saved == {(title, url, (url,)) for title, url, _ in STORIES}


def test_short_bodies_are_not_judged_however_alike(tmp_path: Path) -> None:
    articles = [
        load_article(write_seed(tmp_path, f"{n}.txt", t, u, s, f"<p>{TEASER}</p>"))[0]
        for n, (t, u, s) in enumerate(STORIES)
    ]
    assert len({a.content_hash for a in articles}) == 1  # the very same body
    assert [a.title for a in merge_duplicates(articles)] == [t for t, _, _ in STORIES]
    # even under one title: too little text to tell a copy from another story
    same_title = [replace(a, title=STORIES[0][0]) for a in articles]
    assert len(merge_duplicates(same_title)) == 3
    # a body just long enough is judged: the same title and text from three URLs merge
    body = "".join(chr(0x4E00 + n) for n in range(MIN_JUDGED_CHARS))
    just_short = [replace(a, text=body[:-1] + "。", content_hash="h") for a in same_title]
    assert len(merge_duplicates(just_short)) == 3
    long_enough = [replace(a, text=body + "。", content_hash="h") for a in same_title]
    assert len(merge_duplicates(long_enough)) == 1


def test_the_same_long_body_under_other_titles_and_urls_stays_apart(tmp_path: Path) -> None:
    """A page whose extraction kept only the site's furniture (a paywall notice, a
    related-links block) gives unrelated stories one long body; their titles and URLs
    still tell them apart."""
    furniture = (
        "本文为付费内容。" + "订阅后即可阅读全文，了解订阅方案请访问我们的网站或下载客户端。" * 4
    )
    assert len(furniture) > MIN_JUDGED_CHARS
    articles = [
        load_article(write_seed(tmp_path, f"{n}.txt", t, u, s, f"<p>{furniture}</p>"))[0]
        for n, (t, u, s) in enumerate(STORIES)
    ]
    assert len(merge_duplicates(articles)) == 3


def test_syndicated_copies_still_merge(tmp_path: Path) -> None:
    """The same story from other outlets: other URLs (another host, a mirror path), the
    title as it was, with the outlet's name added, or in Traditional characters."""
    original = sorted(SAMPLE.glob("*.txt"))[0]
    raw = original.read_text(encoding="utf-8")
    title = raw.split("\n")[1].split("](")[0][1:]
    variants = {
        "zaobao.txt": ("https://www.zaobao.com.sg/realtime/china/story2023", title),
        "dw.txt": ("https://www.dw.com/zh/a-67432", f"{title} | 德国之声"),
        "tw.txt": (
            "https://news.example.tw/a/123",
            title.replace("气候", "氣候").replace("声明", "聲明"),
        ),
    }
    copies = []
    for name, (url, new_title) in variants.items():
        header, body = raw.split("------\n", 1)
        stamp = header.split("\n")[0]
        copies.append(tmp_path / name)
        copies[-1].write_text(f"{stamp}\n[{new_title}]({url})\n------\n{body}", encoding="utf-8")
    shutil.copy(original, tmp_path / original.name)
    articles = [load_article(tmp_path / original.name)[0]] + [load_article(p)[0] for p in copies]
    merged = merge_duplicates(articles)
    assert len(merged) == 1
    assert merged[0].title == title
    assert set(merged[0].urls) == {articles[0].url} | {u for u, _ in variants.values()}
