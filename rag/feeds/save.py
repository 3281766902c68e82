"""Write a feed item into the archive folder in the seed format the ingest reads.

    <!--1700063101000-->          publication time (the item's, else the fetch time), epoch ms
    [title](https://...)          the title on one line and the page's URL
    ------
    <html>...                     the page's HTML, or the feed's own content (a fallback)

One file per item, named ``YYYY-MM-DD-<hash>.txt`` from the publication date and a hash
of the feed URL and the item's guid: stable, safe whatever the title says, unique per
item. Files are written to a hidden temporary name, flushed to disk, then renamed, so
the folder never holds a half-written article.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rag.feeds.records import FeedItem

SUFFIX = ".txt"
_TEMP_PREFIX = ".rag-feed-"
_TEMP_SUFFIX = ".tmp"
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# what the ingest accepts as the URL of "[title](url)": no spaces, parentheses balanced
_SEED_URL = re.compile(r"[^()\s]*(?:\([^()\s]*\)[^()\s]*)*")


def item_file_name(item: FeedItem, when: datetime) -> str:
    digest = hashlib.sha256(f"{item.feed_url}\n{item.key}".encode()).hexdigest()[:16]
    return f"{when.astimezone(UTC):%Y-%m-%d}-{digest}{SUFFIX}"


def publication_time(item: FeedItem, fetched: datetime) -> datetime:
    """The item's own date when it is plausible, else the time it was fetched."""
    published = item.published
    if published is None or not _EARLIEST <= published <= fetched + timedelta(days=2):
        return fetched
    return published


def seed_text(title: str, url: str | None, published: datetime, body: str) -> str:
    """An article in the seed format: header lines, then ``body`` (HTML) as it is."""
    stamp = int(published.timestamp() * 1000)
    title = " ".join(title.split())
    link = "".join(c if not c.isspace() else "%20" for c in (url or "").strip())
    if not _SEED_URL.fullmatch(link):
        link = link.replace("(", "%28").replace(")", "%29")
    return f"<!--{stamp}-->\n[{title}]({link})\n------\n{body}\n"


def fallback_body(item: FeedItem, reason: str) -> str:
    """The feed's own content for an item whose page could not be used, and why."""
    note = re.sub(r"-{2,}", "-", " ".join(reason.split()))  # "--" would end the comment
    return (
        f"<!-- rag-news: the page could not be used ({note}); this is the feed's text -->\n"
        f"<div>{item.content}</div>"
    )


def write_item(folder: Path, name: str, text: str) -> Path:
    """Write ``folder/name`` atomically and durably; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    temp = folder / f"{_TEMP_PREFIX}{uuid.uuid4().hex}{_TEMP_SUFFIX}"
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return target


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary files a killed pull left in ``folder``; returns how many."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
