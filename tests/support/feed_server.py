"""A real HTTP server on 127.0.0.1 serving RSS/Atom feeds and article pages, for tests.

Each test puts ``Route``s in ``server.routes`` (by path) and reads ``server.requests``
(path and headers of everything the client asked for). Routes can fail in the ways
real sites do: a status, N failures before success, a delay before answering, a body
cut half-way until released, redirects.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.sample import SAMPLE


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    # answer ``fail_status`` to this many requests first (then succeed)
    fail_first: int = 0
    fail_status: int = 500
    delay: float = 0.0  # seconds before the status line
    redirect_to: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # send half the body, set ``stalled``, then wait for ``release`` before the rest
    release: threading.Event | None = None
    stalled: threading.Event = field(default_factory=threading.Event)
    hits: int = 0


@dataclass
class Received:
    path: str
    headers: dict[str, str]


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[Received] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def paths_requested(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(Received(self.path, dict(self.headers.items())))
            route = self.server.routes.get(self.path)
            if route is not None:
                route.hits += 1
        # the client may give up half-way (a timeout, a killed process)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(route)

    def _answer(self, route: Route | None) -> None:
        if route is None:
            return self._send(404, b"<html><body>not found</body></html>", "text/html")
        if route.delay:
            time.sleep(route.delay)
        if route.hits <= route.fail_first:
            return self._send(
                route.fail_status, b"<html><body>try later</body></html>", "text/html"
            )
        if route.redirect_to is not None:
            self.send_response(302)
            self.send_header("Location", route.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            return self._send(304, b"", None)
        if route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified:
            return self._send(304, b"", None)
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        self.end_headers()
        if route.release is not None:
            half = len(route.body) // 2
            self.wfile.write(route.body[:half])
            self.wfile.flush()
            route.stalled.set()
            route.release.wait(60)
            self.wfile.write(route.body[half:])
        else:
            self.wfile.write(route.body)
        return None

    def _send(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass(frozen=True)
class SampleArticle:
    """One of the five sample articles: its seed header and page HTML."""

    name: str
    published: datetime
    title: str
    url: str
    html: str

    @property
    def summary(self) -> str:
        """The text of the page's first paragraph, as a feed's description would hold it."""
        first = re.search(r"<p>(.*?)</p>", self.html, re.S)
        text = re.sub(r"<[^>]+>", "", first.group(1) if first else self.title)
        return " ".join(text.split())


def sample_articles() -> list[SampleArticle]:
    articles = []
    for path in sorted(SAMPLE.glob("*.txt")):
        stamp, link, _rule, html = path.read_text(encoding="utf-8").split("\n", 3)
        match = re.fullmatch(r"\[(.*)\]\((.*)\)", link.strip())
        assert match, path
        published = datetime.fromtimestamp(int(stamp.strip()[4:-3]) / 1000, tz=UTC)
        articles.append(SampleArticle(path.stem, published, match[1], match[2], html))
    return articles


@dataclass(frozen=True)
class Entry:
    """An item of a feed made for a test."""

    title: str
    link: str
    guid: str
    published: datetime | None
    summary: str = ""


def rss(title: str, entries: list[Entry]) -> bytes:
    items = []
    for e in entries:
        date = f"<pubDate>{format_datetime(e.published)}</pubDate>" if e.published else ""
        summary = f"<description>{escape(e.summary)}</description>" if e.summary else ""
        items.append(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
            f'<guid isPermaLink="false">{escape(e.guid)}</guid>{date}{summary}</item>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"
        f"<description>test feed</description>{''.join(items)}</channel></rss>"
    ).encode()


def atom(title: str, entries: list[Entry]) -> bytes:
    parts = []
    for e in entries:
        date = e.published.isoformat() if e.published else ""
        parts.append(
            f"<entry><title>{escape(e.title)}</title>"
            f'<link rel="alternate" href="{escape(e.link)}"/><id>{escape(e.guid)}</id>'
            f"<updated>{date}</updated><published>{date}</published>"
            f'<summary type="text">{escape(e.summary)}</summary></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:feed</id>"
        f"<updated>2023-12-01T00:00:00+00:00</updated>{''.join(parts)}</feed>"
    ).encode()


def serve_samples(server: FeedServer, prefix: str = "/articles") -> list[Entry]:
    """Route the five sample articles' pages; their feed entries, newest first."""
    entries = []
    for article in sample_articles():
        path = f"{prefix}/{article.name}.html"
        server.routes[path] = Route(body=article.html.encode())
        entries.append(
            Entry(
                title=article.title,
                link=server.base_url + path,
                guid=f"sample-{article.name}",
                published=article.published,
                summary=article.summary,
            )
        )
    return sorted(entries, key=lambda e: e.published or datetime.min, reverse=True)
