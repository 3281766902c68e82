"""``rag feed`` without a network: subscriptions added, listed and removed, settings
checked, seed files that read back whatever the title and URL (pulling real feeds from a
server on 127.0.0.1 is in integration/test_feeds.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import TEST_EMBEDDER
from rag.feeds.records import FeedItem
from rag.feeds.save import item_file_name, seed_text
from rag.ingest.formats import parse_document

runner = CliRunner()
FILE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-[0-9a-f]{16}\.txt")
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing here is ever fetched


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture()
def feed_env(monkeypatch) -> None:
    """Settings through the environment, as a cron job would have them, building with
    test-hash."""
    monkeypatch.setenv("RAG_EMBEDDER", TEST_EMBEDDER)
    monkeypatch.setenv("RAG_FEED_BACKOFF", "0.01")
    monkeypatch.setenv("RAG_FEED_TIMEOUT", "5")
    monkeypatch.delenv("RAG_CONFIG", raising=False)


def test_add_list_remove(feed_env, tmp_path):
    index, url = tmp_path / "index", f"{NOWHERE}/feed.xml"
    archive = tmp_path / "archive"
    listed = invoke("feed", "list", "--index", str(index), "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == {"feeds": []}
    nothing = invoke("feed", "pull", "--index", str(index))
    assert nothing.exit_code == 1 and "rag feed add" in nothing.stderr

    added = invoke("feed", "add", url, "--archive", str(archive), "--index", str(index), "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["archive"] == str(archive)
    again = invoke("feed", "add", url, "--index", str(index))
    assert again.exit_code == 0 and "Already subscribed" in again.stdout
    moved = invoke("feed", "add", url, "--archive", str(tmp_path / "other"), "--index", str(index))
    assert moved.exit_code == 1 and "already subscribed" in moved.stderr
    inside = invoke("feed", "add", url + "?x", "--archive", str(index / "a"), "--index", str(index))
    assert inside.exit_code == 1 and "inside the index" in inside.stderr
    for bad in ("ftp://example.org/feed", "not a url", "[bold]x"):
        refused = invoke("feed", "add", bad, "--index", str(index))
        assert refused.exit_code == 1 and "not an http(s) URL" in refused.stderr
        assert bad in refused.stderr  # printed as typed, never as markup

    listed = invoke("feed", "list", "--index", str(index), "--json")
    (feed,) = json.loads(listed.stdout)["feeds"]
    assert feed["url"] == url and feed["saved_items"] == 0 and feed["last_pulled"] is None
    text = invoke("feed", "list", "--index", str(index))
    assert url in text.stdout and "never" in text.stdout

    removed = invoke("feed", "remove", url, "--index", str(index))
    assert removed.exit_code == 0 and str(archive) in removed.stdout
    assert invoke("feed", "remove", url, "--index", str(index)).exit_code == 1
    assert json.loads(invoke("feed", "list", "--index", str(index), "--json").stdout) == {
        "feeds": []
    }


def test_feed_settings_are_validated(feed_env, monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_FEED_TIMEOUT", "0")
    result = invoke("feed", "pull", "--index", str(tmp_path / "index"))
    assert result.exit_code == 2
    assert "feed_timeout" in result.stderr and "RAG_FEED_TIMEOUT" in result.stderr


@pytest.mark.parametrize(
    ("title", "url"),
    [
        ("中美气候合作声明有何新意？", "https://www.rfi.fr/cn/20231115-%E4%B8%AD"),
        ("a title\nover two lines [with] brackets](x)", "https://example.org/a_(b)/c d"),
        ("../../etc/passwd", "https://example.org/x)("),
    ],
)
def test_seed_files_read_back_whatever_the_title_and_url(title, url):
    when = datetime(2023, 11, 15, 15, 55, 1, tzinfo=UTC)
    text = seed_text(title, url, when, "<p>正文。</p>")
    parsed = parse_document(text, suffix=".txt", stem="x")
    assert parsed.warnings == ()
    assert parsed.title == " ".join(title.split())
    assert parsed.published == when and parsed.body.strip() == "<p>正文。</p>"
    assert parsed.url is not None and " " not in parsed.url
    item = FeedItem("https://f.example/rss", title, title, url, when, "")
    name = item_file_name(item, when)
    assert FILE_NAME.fullmatch(name) and name.startswith("2023-11-15-")


def test_feed_commands_are_listed_in_help():
    shown = invoke("feed", "--help").stdout
    for command in ("add", "list", "remove", "pull"):
        assert re.search(rf"^\s+{command}\s", shown, re.M), shown
