"""Which addresses feeds may be fetched from, without a server: the address rules, a
refused fetch never connecting, the feed_allow_private setting and the subscription's
--allow-private flag (kept in the feed store, also one written before it existed).
Feeds and pages served on 127.0.0.1 are in integration/test_feed_addresses.py."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import TEST_EMBEDDER, Settings, load_settings
from rag.errors import ConfigError
from rag.feeds import add_feed, list_feeds
from rag.feeds.fetch import Fetcher, FetchFailed, address_problem

runner = CliRunner()
NOWHERE = "http://127.0.0.1:9"  # the discard port: refused before any connection


def invoke(*args: str, **env: str) -> Any:
    return runner.invoke(app, list(args), env=env or None)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", TEST_EMBEDDER)
    monkeypatch.setenv("RAG_FEED_RETRIES", "0")
    for name in ("RAG_CONFIG", "RAG_FEED_ALLOW_PRIVATE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_addresses_other_than_public_are_named(address: str, kind: str) -> None:
    problem = address_problem(ipaddress.ip_address(address))
    assert problem is not None and kind in problem


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_fine(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [f"{NOWHERE}/feed.xml", "http://[::1]:9/feed.xml", "http://0.0.0.0:9/", "http://localhost:9/"],
)
def test_a_fetch_from_this_machine_is_refused_before_connecting(url: str) -> None:
    with Fetcher(Settings()) as fetcher, pytest.raises(FetchFailed) as failed:
        fetcher.get(url)
    assert failed.value.refused and str(failed.value).startswith("refused: ")
    assert "cannot connect" not in str(failed.value)  # no connection was tried


def test_a_name_is_named_with_its_address() -> None:
    with Fetcher(Settings()) as fetcher, pytest.raises(FetchFailed) as failed:
        fetcher.get("http://localhost:9/feed.xml")
    assert "localhost is at " in str(failed.value) and "loopback" in str(failed.value)


def test_the_trusted_server_is_connected_to(tmp_path: Path) -> None:
    """A feed's own server, when its subscription allows it, is connected to (here: no one
    listens, so the connection fails instead of being refused)."""
    with Fetcher(Settings()) as fetcher, pytest.raises(FetchFailed) as failed:
        fetcher.get(f"{NOWHERE}/feed.xml", trusted=f"{NOWHERE}/other.xml")
    assert not failed.value.refused and "cannot connect" in str(failed.value)
    with Fetcher(Settings()) as fetcher, pytest.raises(FetchFailed) as failed:
        fetcher.get("http://127.0.0.1:10/feed.xml", trusted=f"{NOWHERE}/feed.xml")
    assert failed.value.refused  # another port is another server


def test_feed_allow_private_is_a_checked_boolean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().feed_allow_private is False
    for value in ("true", "1", "yes", "on", "True"):
        assert Settings().with_overrides("environment", feed_allow_private=value).feed_allow_private
    for value in ("false", "0", "no", "off"):
        changed = Settings().with_overrides("environment", feed_allow_private=value)
        assert changed.feed_allow_private is False
    with pytest.raises(ConfigError, match="feed_allow_private"):
        Settings().with_overrides("environment", feed_allow_private="maybe")
    result = invoke("feed", "pull", "--index", str(tmp_path), RAG_FEED_ALLOW_PRIVATE="maybe")
    assert result.exit_code == 2 and "RAG_FEED_ALLOW_PRIVATE" in result.stderr
    (tmp_path / "rag.toml").write_text("feed_allow_private = true\n", encoding="utf-8")
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "rag.toml"))
    assert load_settings().feed_allow_private is True


def test_a_pull_reports_a_refused_feed_in_one_line(tmp_path: Path) -> None:
    index = tmp_path / "index"
    assert invoke("feed", "add", f"{NOWHERE}/feed.xml", "--index", str(index)).exit_code == 0
    result = invoke("feed", "pull", "--index", str(index))
    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if "warning" in line]
    assert f"{NOWHERE}/feed.xml" in line and "127.0.0.1 is a loopback address" in line


def test_allow_private_is_kept_with_the_subscription(tmp_path: Path) -> None:
    index, url = tmp_path / "index", f"{NOWHERE}/feed.xml"
    added = invoke("feed", "add", url, "--allow-private", "--index", str(index), "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["allow_private"] is True
    other = f"{NOWHERE}/other.xml"
    assert invoke("feed", "add", other, "--index", str(index)).exit_code == 0
    listed = json.loads(invoke("feed", "list", "--index", str(index), "--json").stdout)
    assert [f["allow_private"] for f in listed["feeds"]] == [True, False]
    shown = invoke("feed", "list", "--index", str(index)).stdout
    assert shown.count("private address") == 1
    # adding it again with the flag allows it; without, changes nothing
    again = invoke("feed", "add", other, "--allow-private", "--index", str(index))
    assert again.exit_code == 0 and "private address" in again.stdout
    assert invoke("feed", "add", other, "--index", str(index)).exit_code == 0
    assert all(f.allow_private for f in list_feeds(Settings(index_dir=index)))
    assert "--allow-private" in invoke("feed", "add", "--help").stdout


def test_a_feed_store_from_before_the_flag_is_read(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    db = sqlite3.connect(index / "feeds.sqlite")
    db.executescript(
        "CREATE TABLE feeds (url TEXT PRIMARY KEY, archive TEXT NOT NULL, added_at TEXT "
        "NOT NULL, title TEXT, etag TEXT, last_modified TEXT, last_pulled TEXT, "
        "last_status TEXT);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '1');"
        f"INSERT INTO feeds (url, archive, added_at) VALUES ('{NOWHERE}/a', '/a', 'x');"
    )
    db.commit()
    db.close()
    settings = Settings(index_dir=index)
    (feed,) = list_feeds(settings)
    assert feed.url == f"{NOWHERE}/a" and feed.allow_private is False
    feed, new = add_feed(settings, f"{NOWHERE}/a", allow_private=True)
    assert not new and feed.allow_private
