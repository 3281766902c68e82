"""Feeds never fetch from this machine or a private network unless the user allows it:
real feed servers on 127.0.0.1 whose items link, or redirect, to a "secret" page on
another local server; a name that resolves to a public address, then to 127.0.0.1; a
proxy. The address rules themselves, the settings and the subscription flag are in
unit/test_feed_addresses.py."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.feed_server import Entry, FeedServer, Route, rss, serve_samples
from typer.testing import CliRunner

from rag.cli import app
from rag.config import TEST_EMBEDDER, Settings
from rag.feeds.fetch import Fetcher, FetchFailed

runner = CliRunner()
SECRET = "内部备忘录：数据库管理员口令是 hunter2，请勿外传"
SECRET_PAGE = f"<html><body><h1>内部备忘录</h1><p>{SECRET}</p></body></html>".encode()
DAY = datetime(2023, 12, 1, tzinfo=UTC)


def start(server: FeedServer) -> FeedServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def site() -> Iterator[FeedServer]:
    """The feed's own server."""
    server = start(FeedServer())
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def secret() -> Iterator[FeedServer]:
    """Another server on this machine (an admin page, a metadata service): never fetched."""
    server = start(FeedServer())
    server.routes["/secret"] = server.routes["/secret2"] = Route(body=SECRET_PAGE)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", TEST_EMBEDDER)
    monkeypatch.setenv("RAG_FEED_BACKOFF", "0.01")
    monkeypatch.setenv("RAG_FEED_TIMEOUT", "5")
    for name in ("RAG_CONFIG", "RAG_FEED_ALLOW_PRIVATE"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def pull(index: Path) -> tuple[int, dict[str, Any], list[str]]:
    result = invoke("feed", "pull", "--index", str(index), "--json")
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, report, [line for line in result.stderr.splitlines() if line]


def saved_texts(archive: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in archive.glob("*.txt"))


def found_by_search(index: Path) -> str:
    asked = invoke("ask", "数据库管理员口令", "--index", str(index), "--json", "--mode", "keyword")
    return asked.stdout


def feed_linking_to_the_secret(site: FeedServer, secret: FeedServer) -> list[Entry]:
    """A feed of one real article, then items that lead to the secret page: a link, a
    redirect from the feed's own server, and a link with a summary (a fallback's text)."""
    (article, *_) = serve_samples(site)
    site.routes["/go"] = Route(redirect_to=f"{secret.base_url}/secret")
    items = [
        article,
        Entry("内部", f"{secret.base_url}/secret", "secret-link", DAY),
        Entry("转向", f"{site.base_url}/go", "secret-redirect", DAY),
        Entry("摘要", f"{secret.base_url}/secret2", "secret-summary", DAY, "摘要文字"),
    ]
    site.routes["/feed.xml"] = Route(rss("feed", items), "application/rss+xml")
    return items


def test_a_feed_on_this_machine_is_refused_by_default(site, secret, env, tmp_path):
    feed_linking_to_the_secret(site, secret)
    index, archive = tmp_path / "index", tmp_path / "archive"
    url = f"{site.base_url}/feed.xml"
    assert (
        invoke("feed", "add", url, "--index", str(index), "--archive", str(archive)).exit_code == 0
    )

    code, report, lines = pull(index)
    assert code == 1 and report["feeds"][0]["status"] == "failed"
    (line,) = [line for line in lines if "warning" in line]
    assert url in line and "refused" in line and "127.0.0.1 is a loopback address" in line
    assert "--allow-private" in line  # what to do about it
    # refused before connecting: neither server saw a request, nothing was saved
    assert site.requests == [] and secret.requests == []
    assert saved_texts(archive) == "" and SECRET not in found_by_search(index)


def test_items_leading_elsewhere_on_this_machine_are_refused(site, secret, env, tmp_path):
    """--allow-private trusts the feed's own server, not every address its items name."""
    items = feed_linking_to_the_secret(site, secret)
    index, archive = tmp_path / "index", tmp_path / "archive"
    url = f"{site.base_url}/feed.xml"
    added = invoke(
        "feed", "add", url, "--allow-private", "--index", str(index), "--archive", str(archive)
    )
    assert added.exit_code == 0, added.output

    code, report, lines = pull(index)
    assert code == 0, lines
    assert (report["pages_saved"], report["fallbacks"], report["failed_items"]) == (1, 0, 3)
    assert report["index"]["action"] == "built"
    assert len(lines) == 3 == len(report["problems"])  # one warning line per refused item
    for item in items[1:]:
        (line,) = [line for line in lines if f"item {item.link} " in line]
        assert "refused" in line and "127.0.0.1 is a loopback address" in line
    (redirected,) = [line for line in lines if f"{site.base_url}/go" in line]
    assert f"redirected to {secret.base_url}/secret" in redirected
    assert secret.requests == []  # not even the redirect reached it
    assert [r.path for r in site.requests if r.path == "/go"] == ["/go"]
    assert SECRET not in saved_texts(archive) and "摘要文字" not in saved_texts(archive)
    assert SECRET not in found_by_search(index)


def test_feed_allow_private_allows_every_address(site, secret, env, monkeypatch, tmp_path):
    feed_linking_to_the_secret(site, secret)
    monkeypatch.setenv("RAG_FEED_ALLOW_PRIVATE", "true")
    index, archive = tmp_path / "index", tmp_path / "archive"
    url = f"{site.base_url}/feed.xml"
    invoke("feed", "add", url, "--index", str(index), "--archive", str(archive))
    code, report, lines = pull(index)
    assert code == 0 and lines == [] and report["pages_saved"] == 4
    assert SECRET in saved_texts(archive) and SECRET in found_by_search(index)


def test_a_name_is_connected_to_at_the_address_that_was_checked(secret, monkeypatch):
    """DNS rebinding: a name that resolves to a public address when checked, then to this
    machine, must not reach this machine."""
    real = socket.getaddrinfo
    answers = iter(["203.0.114.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"])
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            asked.append(host)
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = secret.server_address[1]
    with (
        Fetcher(Settings(feed_timeout=1, feed_retries=0)) as fetcher,
        pytest.raises(FetchFailed) as failed,
    ):
        fetcher.get(f"http://rebind.test:{port}/secret")
    assert "cannot connect" in str(failed.value) or "no connection" in str(failed.value)
    assert secret.requests == [] and asked == ["rebind.test"]


def test_through_a_proxy_the_target_is_checked_too(secret, monkeypatch):
    """The environment's proxy is used as before; a target on this machine is refused
    before anything is sent to the proxy."""
    proxy = start(FeedServer())
    try:
        target = "http://feeds.example.test/feed.xml"  # resolved by the proxy, not here
        proxy.routes[target] = Route(rss("f", []), "application/rss+xml")
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", proxy.base_url)
        with Fetcher(Settings(feed_timeout=5, feed_retries=0)) as fetcher:
            assert fetcher.get(target).status == 200
            with pytest.raises(FetchFailed, match=re.escape("127.0.0.1 is a loopback address")):
                fetcher.get(f"{secret.base_url}/secret")
        assert proxy.paths_requested() == [target] and secret.requests == []
    finally:
        proxy.shutdown()
        proxy.server_close()
