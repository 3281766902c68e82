"""Read a feed document (RSS 0.9x/1.0/2.0, Atom) into ``FeedItem`` records with feedparser."""

from __future__ import annotations

import calendar
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rag.feeds.fetch import is_http_url
from rag.feeds.records import FeedItem

_TAG = re.compile(r"<[^>]+>")


class NotAFeedError(Exception):
    """The document is not a feed that can be read; ``str()`` says why in one line."""


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's title and items, in the feed's order, and a warning about the XML if any."""

    title: str | None
    items: tuple[FeedItem, ...]
    warning: str | None = None


def parse_feed(
    data: bytes, url: str, content_type: str = "", charset: str | None = None
) -> ParsedFeed:
    """The items of the feed document ``data`` fetched from ``url`` (served with the media
    type ``content_type`` and ``charset``).

    Raises ``NotAFeedError`` when nothing feed-like can be read (bad XML, an HTML page,
    an empty body). Malformed XML that still yields items is read, with a warning.
    Items with neither a guid nor a link cannot be told apart later and are skipped.
    """
    import feedparser

    headers = {"content-location": url}
    if content_type:
        # the charset the server declared decides the decoding (an XML declaration may not)
        headers["content-type"] = f"{content_type}; charset={charset}" if charset else content_type
    # a stream, never a string: feedparser treats strings as URLs or file names
    parsed: Any = feedparser.parse(io.BytesIO(data), response_headers=headers)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        reason = _one_line(problem) if problem is not None else "no RSS or Atom elements"
        raise NotAFeedError(f"not a readable RSS/Atom feed ({reason})")
    items: dict[str, FeedItem] = {}
    unkeyed = 0
    for entry in entries:
        item = _item(entry, url)
        if item is None:
            unkeyed += 1
        else:
            items.setdefault(item.key, item)  # the same guid twice: the first one counts
    warnings = []
    if problem is not None and _is_xml_error(problem):
        warnings.append(f"malformed XML ({_one_line(problem)}); read {len(items)} items anyway")
    if unkeyed:
        warnings.append(f"{unkeyed} item(s) without guid or link skipped")
    title = _text(parsed.get("feed", {}).get("title"), parsed.get("feed", {}).get("title_detail"))
    return ParsedFeed(title or None, tuple(items.values()), "; ".join(warnings) or None)


def _item(entry: Any, feed_url: str) -> FeedItem | None:
    link = (entry.get("link") or "").strip() or None
    key = (entry.get("id") or "").strip() or link
    if not key:
        return None
    return FeedItem(
        feed_url=feed_url,
        key=key,
        title=_text(entry.get("title"), entry.get("title_detail")),
        link=link if is_http_url(link) else None,
        published=_published(entry),
        content=_content(entry),
    )


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, OSError, ValueError):
                continue
    return None


def _content(entry: Any) -> str:
    """The item's own HTML: full content (HTML preferred), else the summary."""
    candidates = list(entry.get("content") or [])
    if entry.get("summary"):
        candidates.append(entry.get("summary_detail") or {"value": entry["summary"]})
    candidates.sort(key=lambda d: "html" not in (d.get("type") or "text/html"))
    for detail in candidates:
        value = (detail.get("value") or "").strip()
        if not value:
            continue
        if "html" in (detail.get("type") or "text/html"):
            return value
        paragraphs = [p.strip() for p in value.split("\n\n") if p.strip()]
        return "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return ""


def _text(value: Any, detail: Any) -> str:
    """A title as plain text on one line (HTML titles lose their tags)."""
    text = str(value or "")
    if detail and "html" in (detail.get("type") or ""):
        text = html.unescape(_TAG.sub("", text))
    return " ".join(text.split())


def _is_xml_error(problem: object) -> bool:
    # feedparser flags harmless things too (a charset the server got wrong)
    return type(problem).__name__ in ("SAXParseException", "SAXException")


def _one_line(problem: object) -> str:
    text = " ".join(str(problem).split()) or type(problem).__name__
    return text[:200]
