"""``rag feed``: real RSS/Atom feeds served on 127.0.0.1 from the five sample articles,
pulled into seed-format files and the index; broken feeds and pages; a killed pull
(subscriptions and seed files without a server are in unit/test_feeds.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.feed_server import Entry, FeedServer, Route, atom, rss, sample_articles, serve_samples
from support.sample import QUESTION, STOCKTAKE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.feeds import list_feeds
from rag.feeds.store import pull_lock

runner = CliRunner()
FILE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-[0-9a-f]{16}\.txt")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def pull(index: Path, *extra: str) -> tuple[int, dict, str]:
    result = invoke("feed", "pull", "--index", str(index), "--json", *extra)
    data = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, data, result.stderr


@pytest.fixture()
def server() -> Iterator[FeedServer]:
    server = FeedServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    for route in server.routes.values():
        if route.release is not None:
            route.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture()
def feed_env(monkeypatch, embedding_cache, sample_index) -> None:
    """Settings through the environment, as a cron job would have them: the session's
    embedding cache (the sample texts are embedded already), short backoff."""
    monkeypatch.setenv("RAG_CACHE_DIR", str(embedding_cache))
    monkeypatch.setenv("RAG_FEED_BACKOFF", "0.01")
    monkeypatch.setenv("RAG_FEED_TIMEOUT", "5")
    monkeypatch.setenv("RAG_FEED_ALLOW_PRIVATE", "true")  # the feed servers are on 127.0.0.1
    monkeypatch.delenv("RAG_CONFIG", raising=False)


def seed_files(folder: Path) -> dict[str, tuple[int, str, str]]:
    """The seed files in ``folder`` by URL: (epoch ms, title, body)."""
    found = {}
    for path in folder.iterdir():
        assert FILE_NAME.fullmatch(path.name), path.name  # no temporary or stray files
        stamp, link, rule, body = path.read_text(encoding="utf-8").split("\n", 3)
        match = re.fullmatch(r"\[(.*)\]\((\S*)\)", link)
        assert re.fullmatch(r"<!--\d{13}-->", stamp) and match and rule == "------", path
        found[match[2]] = (int(stamp[4:-3]), match[1], body)
    return found


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def test_pull_saves_each_item_as_a_seed_file_and_ask_finds_it(server, feed_env, tmp_path):
    entries = serve_samples(server)
    server.routes["/feed.xml"] = Route(
        rss("中美气候", entries), "application/rss+xml; charset=utf-8", etag='"v1"'
    )
    index, archive = tmp_path / "index", tmp_path / "archive"
    added = invoke(
        "feed",
        "add",
        f"{server.base_url}/feed.xml",
        "--archive",
        str(archive),
        "--index",
        str(index),
    )
    assert added.exit_code == 0, added.output
    assert str(archive) in added.stdout

    code, report, stderr = pull(index)
    assert code == 0, stderr
    assert "warning" not in stderr and "error" not in stderr
    assert (report["new_items"], report["pages_saved"], report["fallbacks"]) == (5, 5, 0)
    assert (report["failed_items"], report["feeds_failed"]) == (0, 0)
    assert report["index"]["action"] == "built"
    assert (report["index"]["articles_before"], report["index"]["articles_after"]) == (0, 5)

    files = seed_files(archive)
    assert len(files) == 5
    for article in sample_articles():
        url = f"{server.base_url}/articles/{article.name}.html"
        stamp, title, body = files[url]
        assert stamp == epoch_ms(article.published) and title == article.title
        assert body.strip() == article.html.strip()  # the page exactly as served

    asked = invoke("ask", QUESTION, "--index", str(index), "--json", "-k", "5")
    assert asked.exit_code == 0, asked.output
    hits = json.loads(asked.stdout)["hits"]
    assert hits and all(h["url"].startswith(server.base_url + "/articles/") for h in hits)
    assert any(STOCKTAKE in h["text"] for h in hits)
    agents = {r.headers.get("User-Agent", "") for r in server.requests}
    assert len(agents) == 1 and re.fullmatch(r"rag-news/\S+ \(\+local archive tool\)", agents.pop())

    # a second pull: the feed answers 304 to the stored ETag and nothing else is fetched
    seen = len(server.requests)
    code, report, stderr = pull(index)
    assert code == 0, stderr
    again = server.requests[seen:]
    assert [r.path for r in again] == ["/feed.xml"]
    assert again[0].headers.get("If-None-Match") == '"v1"'
    assert report["feeds"][0]["status"] == "not_modified" and report["new_items"] == 0
    assert report["index"]["action"] == "unchanged" and report["index"]["articles_after"] == 5
    assert len(list(archive.iterdir())) == 5


def test_atom_feed_default_archive_last_modified_and_indexing_later(server, feed_env, tmp_path):
    entries = serve_samples(server, "/atom")
    modified = "Wed, 29 Nov 2023 16:00:00 GMT"
    server.routes["/atom.xml"] = Route(
        atom("Climate", entries), "application/atom+xml", last_modified=modified
    )
    index = tmp_path / "news"
    url = f"{server.base_url}/atom.xml"
    assert invoke("feed", "add", url, "--index", str(index)).exit_code == 0

    code, report, stderr = pull(index, "--no-index")
    assert code == 0, stderr
    assert report["pages_saved"] == 5 and report["index"]["action"] == "skipped"
    assert not (index / "CURRENT").exists()  # --no-index: the index was not touched
    # the default archive: beside the index, one folder per feed
    (folder,) = (tmp_path / "news-feeds").iterdir()
    assert folder.name.startswith("127.0.0.1_") and len(seed_files(folder)) == 5

    # nothing new in the feed (304 to If-Modified-Since), but the saved items get indexed
    code, report, stderr = pull(index)
    assert code == 0, stderr
    assert server.requests[-1].headers.get("If-Modified-Since") == modified
    assert report["feeds"][0]["status"] == "not_modified"
    assert report["index"]["action"] == "built" and report["index"]["articles_after"] == 5

    # the ingest read title, URL and date from the files
    settings = Settings(index_dir=index, cache_dir=Path(os.environ["RAG_CACHE_DIR"]))
    with Archive(settings) as archive:
        ids = {chunk.article_id for chunk in archive.passages()}
        details = [archive.article(i) for i in ids]
    indexed = {d.article.url: d.article for d in details if d is not None}
    for article in sample_articles():
        found = indexed[f"{server.base_url}/atom/{article.name}.html"]
        assert found.title == article.title and found.published == article.published


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def broken_site(server: FeedServer) -> dict[str, str]:
    """A feed whose items break in every way a page can, and four feeds that fail.

    Returns the feed URLs by name."""
    articles = sample_articles()
    base = server.base_url
    routes = {
        "/ok.html": Route(body=articles[0].html.encode()),
        "/flaky.html": Route(body=articles[1].html.encode(), fail_first=1, fail_status=500),
        "/busy.html": Route(body=articles[2].html.encode(), fail_first=1, fail_status=429),
        "/slow.html": Route(body=articles[3].html.encode(), delay=3),
        "/big.html": Route(body=b"<html><body>" + b"<p>big page</p>" * 10_000 + b"</body></html>"),
        "/loop-a.html": Route(redirect_to="/loop-b.html"),
        "/loop-b.html": Route(redirect_to=f"{base}/loop-a.html"),
        "/report.pdf": Route(body=b"%PDF-1.4 not a page", content_type="application/pdf"),
    }
    server.routes.update(routes)
    day = datetime(2023, 12, 1, tzinfo=UTC)

    def entry(path: str, summary: str = "") -> Entry:
        return Entry(path.strip("/"), base + path, "id" + path, day, summary)

    items = [
        entry("/ok.html"),
        entry("/flaky.html"),
        entry("/busy.html"),
        entry("/gone.html", "这一页已经删除，但是摘要还在。"),
        entry("/gone-bare.html"),
        entry("/slow.html", "慢的页面的摘要。"),
        entry("/big.html", "大的页面的摘要。"),
        entry("/loop-a.html", "循环重定向的摘要。"),
        entry("/report.pdf", "PDF 文件的摘要。"),
    ]
    server.routes["/mixed.xml"] = Route(rss("Mixed", items), "application/rss+xml", etag='"m1"')
    server.routes["/bad.xml"] = Route(b"this is not a feed <<< &&&", "application/rss+xml")
    server.routes["/down.xml"] = Route(fail_first=1000, fail_status=503)
    return {
        "mixed": f"{base}/mixed.xml",
        "bad": f"{base}/bad.xml",
        "gone": f"{base}/gone.xml",
        "down": f"{base}/down.xml",
        "refused": f"http://127.0.0.1:{closed_port()}/feed.xml",
    }


def test_broken_feeds_and_pages_are_reported_one_line_each_and_skipped(
    server, feed_env, monkeypatch, tmp_path
):
    monkeypatch.setenv("RAG_FEED_TIMEOUT", "0.5")
    monkeypatch.setenv("RAG_FEED_MAX_MB", "0.05")
    feeds = broken_site(server)
    index, archive = tmp_path / "index", tmp_path / "archive"
    for url in feeds.values():
        assert (
            invoke("feed", "add", url, "--index", str(index), "--archive", str(archive)).exit_code
            == 0
        )

    code, report, stderr = pull(index, "--no-index")
    assert code == 0, stderr  # one feed worked
    assert report["feeds_failed"] == 4
    assert (report["new_items"], report["pages_saved"]) == (9, 3)
    assert (report["fallbacks"], report["failed_items"]) == (5, 1)

    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 4 + 6 == len(report["problems"])  # failed feeds, broken items

    def line_about(needle: str) -> str:
        (line,) = [line for line in lines if needle in line]
        return line

    assert "not a readable RSS/Atom feed" in line_about(feeds["bad"])
    assert "HTTP 404" in line_about(feeds["gone"])
    assert "HTTP 503" in line_about(feeds["down"]) and "3 tries" in line_about(feeds["down"])
    assert "cannot connect" in line_about(feeds["refused"])
    assert "HTTP 404" in line_about("/gone.html") and "feed's text instead" in line_about(
        "/gone.html"
    )
    assert "not saved" in line_about("/gone-bare.html")
    assert "timed out" in line_about("/slow.html")
    assert "larger than 0.05 MB" in line_about("/big.html")
    assert "redirect loop" in line_about("/loop-a.html")
    assert "not an HTML page (application/pdf)" in line_about("/report.pdf")
    # transient failures were retried: one failure, then the page
    assert server.routes["/flaky.html"].hits == 2 and server.routes["/busy.html"].hits == 2
    assert server.routes["/down.xml"].hits == 3  # 1 + feed_retries (2)

    files = seed_files(archive)
    base = server.base_url
    saved = ("ok", "flaky", "busy", "gone", "slow", "big", "loop-a")
    assert set(files) == {f"{base}/{name}.html" for name in saved} | {f"{base}/report.pdf"}
    _, title, body = files[f"{base}/gone.html"]
    assert title == "gone.html" and "这一页已经删除，但是摘要还在。" in body
    assert "the page could not be used (HTTP 404 Not Found)" in body
    assert sample_articles()[1].html.strip() == files[f"{base}/flaky.html"][2].strip()


def test_a_failed_item_is_tried_again_on_later_pulls_then_given_up(server, feed_env, tmp_path):
    base = server.base_url
    day = datetime(2023, 12, 1, tzinfo=UTC)
    server.routes["/feed.xml"] = Route(
        rss("f", [Entry("gone", f"{base}/gone.html", "g1", day)]), "application/rss+xml", etag='"e"'
    )
    index = tmp_path / "index"
    invoke(
        "feed", "add", f"{base}/feed.xml", "--index", str(index), "--archive", str(tmp_path / "a")
    )
    tails = []
    for _ in range(4):
        code, report, stderr = pull(index, "--no-index")
        assert code == 0, stderr
        tails.append((report["failed_items"], stderr))
    # with an item left to retry, the feed is asked for in full (no If-None-Match)
    feed_requests = [r for r in server.requests if r.path == "/feed.xml"]
    assert [r.headers.get("If-None-Match") for r in feed_requests] == [None, None, None, '"e"']
    assert [r.path for r in server.requests].count("/gone.html") == 3
    assert "will try again" in tails[0][1] and "given up after 3 tries" in tails[2][1]
    assert tails[3] == (0, "")


def test_every_feed_failing_exits_1(server, feed_env, tmp_path):
    index = tmp_path / "index"
    server.routes["/bad.xml"] = Route(b"<html><body>a web page</body></html>", "text/html")
    for url in (f"{server.base_url}/bad.xml", f"http://127.0.0.1:{closed_port()}/rss"):
        invoke("feed", "add", url, "--index", str(index), "--archive", str(tmp_path / "a"))
    result = invoke("feed", "pull", "--index", str(index))
    assert result.exit_code == 1
    assert "all 2 feed(s) failed" in result.stderr and "Traceback" not in result.output
    assert "2 failed" in result.stdout


def saved_items(index: Path) -> int:
    return sum(f.saved_items for f in list_feeds(Settings(index_dir=index)))


def test_a_pull_killed_mid_download_leaves_no_partial_file_and_the_next_completes(
    server, feed_env, tmp_path
):
    entries = serve_samples(server)
    stalled = server.routes[entries[2].link.removeprefix(server.base_url)]
    stalled.release = threading.Event()  # half the page, then the server waits
    server.routes["/feed.xml"] = Route(rss("f", entries), "application/rss+xml", etag='"v1"')
    index, archive = tmp_path / "index", tmp_path / "archive"
    invoke(
        "feed",
        "add",
        f"{server.base_url}/feed.xml",
        "--index",
        str(index),
        "--archive",
        str(archive),
    )

    env = {**os.environ, "RAG_FEED_TIMEOUT": "60"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rag.cli import main; main()",
            "feed",
            "pull",
            "--index",
            str(index),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert stalled.stalled.wait(60), "the pull never reached the stalled page"
        # the two items before the stalled one are saved and marked as seen
        deadline = time.monotonic() + 20
        while saved_items(index) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    files = seed_files(archive)  # only complete seed files, no temporary file
    assert set(files) == {e.link for e in entries[:2]}
    for article in sample_articles():
        url = f"{server.base_url}/articles/{article.name}.html"
        if url in files:
            assert files[url][2].strip() == article.html.strip()

    # what a pull killed while writing a file leaves: its temporary file, never a .txt
    (archive / ".rag-feed-0123abcd.tmp").write_text("<!--17000", encoding="utf-8")
    stalled.release.set()
    stalled.release = None
    code, report, stderr = pull(index)
    assert code == 0, stderr
    assert report["feeds"][0]["status"] == "ok"  # the ETag was not stored by the killed pull
    assert (report["new_items"], report["pages_saved"]) == (3, 3)  # saved items not fetched again
    assert report["index"]["articles_after"] == 5
    assert set(seed_files(archive)) == {e.link for e in entries}  # the temporary file is gone
    paths = server.paths_requested()
    for e in entries[:2]:
        assert paths.count(e.link.removeprefix(server.base_url)) == 1


def test_a_second_pull_at_the_same_time_fails_at_once(server, feed_env, tmp_path):
    index = tmp_path / "index"
    invoke("feed", "add", f"{server.base_url}/feed.xml", "--index", str(index))
    with pull_lock(index):
        result = invoke("feed", "pull", "--index", str(index))
    assert result.exit_code == 1 and "another 'rag feed pull' is running" in result.stderr
    assert server.requests == []


def test_gb18030_feeds_and_pages_are_saved_as_utf8(server, feed_env, tmp_path):
    article = sample_articles()[0]
    page = f'<html><head><meta charset="gbk"></head><body>{article.html}</body></html>'
    server.routes["/gbk.html"] = Route(body=page.encode("gb18030"), content_type="text/html")
    entry = Entry(article.title, f"{server.base_url}/gbk.html", "gbk-1", article.published)
    document = rss("中文频道", [entry]).decode().replace(' encoding="UTF-8"', "")
    server.routes["/gbk.xml"] = Route(
        document.encode("gb18030"), "application/rss+xml; charset=gb18030"
    )
    index, archive = tmp_path / "index", tmp_path / "archive"
    invoke(
        "feed",
        "add",
        f"{server.base_url}/gbk.xml",
        "--index",
        str(index),
        "--archive",
        str(archive),
    )
    code, report, stderr = pull(index, "--no-index")
    assert code == 0 and report["pages_saved"] == 1, stderr
    ((_, title, body),) = seed_files(archive).values()  # read as UTF-8
    assert title == article.title and article.html.strip() in body
