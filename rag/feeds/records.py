"""Records the feed modules pass to each other and return to the CLI. All frozen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Feed:
    """A subscription: where the feed is, where its articles go, what the last pull saw.

    ``archive`` is an absolute folder path; ``etag``/``last_modified`` are the feed
    response's validators, sent back on the next pull (conditional GET).
    ``allow_private``: the feed's own server may be on this machine or a private network
    (its items' pages elsewhere must still be on public addresses).
    """

    url: str
    archive: str
    added_at: str
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_pulled: str | None = None
    last_status: str | None = None
    saved_items: int = 0
    allow_private: bool = False


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed, as read from the feed document.

    ``key`` identifies the item for good (its guid/id, else its link); ``content`` is the
    feed's own HTML for it (full content, else the summary; empty when there is none).
    """

    feed_url: str
    key: str
    title: str
    link: str | None
    published: datetime | None
    content: str


@dataclass(frozen=True)
class FeedResult:
    """What one pull did with one feed.

    ``status``: ``ok`` (fetched and read), ``not_modified`` (HTTP 304, nothing fetched)
    or ``failed`` (``error`` says why; no item was read).
    """

    url: str
    status: str
    new_items: int = 0
    pages: int = 0
    fallbacks: int = 0
    failed_items: int = 0
    error: str | None = None


@dataclass(frozen=True)
class IndexChange:
    """What a pull did to the index.

    ``action``: ``built`` (there was none), ``updated``, ``unchanged`` (nothing new to
    index), ``skipped`` (``--no-index``, or no article saved yet) or ``failed``
    (``error`` says why; the saved files are indexed by the next pull). The article
    counts are None when the index was not looked at.
    """

    action: str
    articles_before: int | None
    articles_after: int | None
    index_dir: str
    version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PullReport:
    """Everything one ``rag feed pull`` did: per feed, in total, and to the index.

    ``new_items`` = ``pages_saved`` + ``fallbacks`` + ``failed_items``; ``problems``
    holds the one-line messages reported on the way (failures and fallbacks).
    """

    feeds: tuple[FeedResult, ...]
    feeds_failed: int
    new_items: int
    pages_saved: int
    fallbacks: int
    failed_items: int
    index: IndexChange
    seconds: float
    problems: tuple[str, ...] = ()

    @property
    def all_feeds_failed(self) -> bool:
        return bool(self.feeds) and self.feeds_failed == len(self.feeds)
