"""``pull_feeds``: fetch every feed, save each new item's page, then update the index.

Order of events, chosen so that a pull killed at any moment loses nothing saved and
fetches nothing twice:

1. every feed is fetched (conditional GET with its stored ETag/Last-Modified) and read;
2. each item not seen before has its page fetched; the page (or, when it cannot be
   used, the feed's own text: a *fallback*) is written to the archive folder, and only
   then is the item marked as handled;
3. once every item a feed listed has been handled, the feed's new ETag/Last-Modified
   are stored (earlier, a pull killed half-way would get a 304 next time and never
   fetch the rest);
4. the archive folders are indexed through ``Archive.update`` (``build`` when there is
   no index yet).

Problems never stop the pull: each is one line through ``progress.warn``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rag.config import Settings
from rag.errors import FeedError, IndexMissingError, RagError
from rag.feeds.fetch import (
    Fetcher,
    FetchFailed,
    Page,
    Response,
    fetch_page,
    run_by_host,
    status_text,
)
from rag.feeds.parse import NotAFeedError, parse_feed
from rag.feeds.records import Feed, FeedItem, FeedResult, IndexChange, PullReport
from rag.feeds.save import (
    SUFFIX,
    fallback_body,
    item_file_name,
    publication_time,
    remove_stale_temps,
    seed_text,
    write_item,
)
from rag.feeds.store import MAX_ATTEMPTS, FeedStore, pull_lock
from rag.feeds.subscriptions import store_path
from rag.progress import Progress, SilentProgress


def pull_feeds(
    settings: Settings, *, index: bool = True, progress: Progress | None = None
) -> PullReport:
    """Pull every feed of ``settings.index_dir`` and (unless ``index`` is False) index them.

    Raises ``FeedError`` when there is no feed to pull or another pull is running.
    Failures of single feeds and items are reported and counted, never raised; so is a
    failed index update (``report.index.error``), whose articles the next pull indexes.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    path = store_path(settings)
    if not path.is_file():
        raise FeedError(f"no feeds for {settings.index_dir}; add one with 'rag feed add URL'")
    with pull_lock(Path(settings.index_dir)), FeedStore(path) as store:
        feeds = store.feeds()
        if not feeds:
            raise FeedError(f"no feeds for {settings.index_dir}; add one with 'rag feed add URL'")
        folders = list(dict.fromkeys(Path(f.archive) for f in feeds))
        for folder in folders:
            remove_stale_temps(folder)
        with Fetcher(settings) as fetcher:
            run = _Pull(settings, store, fetcher, progress)
            run.fetch_feeds(feeds)
            run.fetch_pages()
        if index:
            change = _update_index(settings, store, folders, progress)
        else:
            change = IndexChange("skipped", None, None, str(settings.index_dir))
    results = tuple(run.results[f.url].result() for f in feeds)
    return PullReport(
        feeds=results,
        feeds_failed=sum(1 for r in results if r.status == "failed"),
        new_items=sum(r.new_items for r in results),
        pages_saved=sum(r.pages for r in results),
        fallbacks=sum(r.fallbacks for r in results),
        failed_items=sum(r.failed_items for r in results),
        index=change,
        seconds=time.monotonic() - started,
        problems=tuple(run.problems),
    )


@dataclass
class _FeedRun:
    """One feed's progress through a pull (mutable; ``result()`` freezes it)."""

    feed: Feed
    status: str = "ok"
    error: str | None = None
    new_items: int = 0
    pages: int = 0
    fallbacks: int = 0
    failed_items: int = 0
    waiting: int = 0
    response: Response | None = None
    title: str | None = None
    items: list[FeedItem] = field(default_factory=list)

    def result(self) -> FeedResult:
        return FeedResult(
            url=self.feed.url,
            status=self.status,
            new_items=self.new_items,
            pages=self.pages,
            fallbacks=self.fallbacks,
            failed_items=self.failed_items,
            error=self.error,
        )


class _Pull:
    def __init__(
        self, settings: Settings, store: FeedStore, fetcher: Fetcher, progress: Progress
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.progress = progress
        self.results: dict[str, _FeedRun] = {}
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        message = " ".join(message.split())
        self.problems.append(message)
        self.progress.warn(message)

    # ------------------------------------------------------------------ feeds

    def fetch_feeds(self, feeds: list[Feed]) -> None:
        jobs = []
        for feed in feeds:
            self.results[feed.url] = _FeedRun(feed)
            headers = {}
            # with items left to retry, ask for the whole feed even if it has not changed
            if not self.store.retries_pending(feed.url):
                if feed.etag:
                    headers["If-None-Match"] = feed.etag
                if feed.last_modified:
                    headers["If-Modified-Since"] = feed.last_modified
            jobs.append((feed, headers))
        self.progress.start("fetching feeds", len(jobs))
        for (feed, _), outcome in run_by_host(
            jobs,
            lambda job: job[0].url,
            lambda job: self.fetcher.get(job[0].url, job[1], trusted=_trusted(job[0])),
            self.settings.feed_workers,
        ):
            self._read_feed(self.results[feed.url], outcome)
            self.progress.advance()

    def _read_feed(self, run: _FeedRun, outcome: Response | FetchFailed) -> None:
        url = run.feed.url
        if isinstance(outcome, FetchFailed):
            return self._feed_failed(run, str(outcome))
        if outcome.status == 304:
            run.status = "not_modified"
            self.store.record_pull(url, "not modified")
            return None
        if not 200 <= outcome.status < 300:
            return self._feed_failed(run, status_text(outcome.status))
        try:
            parsed = parse_feed(outcome.body, outcome.url, outcome.content_type, outcome.charset)
        except NotAFeedError as exc:
            return self._feed_failed(run, str(exc))
        if parsed.warning:
            self.problem(f"feed {url}: {parsed.warning}")
        run.response, run.title = outcome, parsed.title
        run.items = [i for i in parsed.items if self.store.wants(url, i.key)]
        run.new_items = run.waiting = len(run.items)
        if not run.items:
            self._feed_done(run)
        return None

    def _feed_failed(self, run: _FeedRun, reason: str) -> None:
        run.status, run.error = "failed", reason
        self.problem(f"feed {run.feed.url}: {reason}")
        self.store.record_pull(run.feed.url, f"failed: {reason}")

    def _feed_done(self, run: _FeedRun) -> None:
        """Every item the feed listed is handled: now its validators may be stored."""
        response = run.response
        assert response is not None
        status = (
            f"ok: {run.new_items} new ({run.pages} pages, {run.fallbacks} fallbacks, "
            f"{run.failed_items} failed)"
        )
        self.store.record_pull(
            run.feed.url,
            status,
            title=run.title,
            etag=response.etag,
            last_modified=response.last_modified,
            validators=True,
        )

    # ------------------------------------------------------------------ items

    def fetch_pages(self) -> None:
        items = [item for run in self.results.values() for item in run.items]
        self.progress.start("fetching pages", len(items))
        for item in items:
            if item.link is None:
                self._save(item, FetchFailed("the item has no http(s) link"))
                self.progress.advance()
        with_link = [item for item in items if item.link is not None]
        for item, outcome in run_by_host(
            with_link,
            lambda item: item.link or "",
            lambda item: fetch_page(
                self.fetcher, item.link or "", _trusted(self.results[item.feed_url].feed)
            ),
            self.settings.feed_workers,
        ):
            self._save(item, outcome)
            self.progress.advance()

    def _save(self, item: FeedItem, outcome: Page | FetchFailed) -> None:
        run = self.results[item.feed_url]
        folder = Path(run.feed.archive)
        when = publication_time(item, datetime.now(UTC))
        name = item_file_name(item, when)
        shown = item.link or item.key
        if isinstance(outcome, Page):
            write_item(folder, name, seed_text(item.title, outcome.url, when, outcome.html))
            self.store.record_saved(item.feed_url, item.key, item.link, name, "page")
            run.pages += 1
        elif item.content and not outcome.refused:
            text = seed_text(item.title, item.link, when, fallback_body(item, str(outcome)))
            write_item(folder, name, text)
            self.store.record_saved(item.feed_url, item.key, item.link, name, "fallback")
            run.fallbacks += 1
            self.problem(
                f"item {shown} (feed {item.feed_url}): {outcome}; saved the feed's text instead"
            )
        else:
            # a refused item leaves nothing behind, not even the feed's text: its link
            # leads somewhere feeds may not go
            self.store.record_failed(item.feed_url, item.key, item.link, str(outcome))
            run.failed_items += 1
            tries = self.store.attempts(item.feed_url, item.key)
            later = (
                "will try again on the next pull"
                if tries < MAX_ATTEMPTS
                else f"given up after {tries} tries"
            )
            why = "" if outcome.refused else "the feed has no text for it either, "
            self.problem(
                f"item {shown} (feed {item.feed_url}): {outcome}; {why}not saved ({later})"
            )
        run.waiting -= 1
        if run.waiting == 0:
            self._feed_done(run)


def _trusted(feed: Feed) -> str | None:
    """The feed's URL when its own server may be on a private address."""
    return feed.url if feed.allow_private else None


def _update_index(
    settings: Settings, store: FeedStore, folders: list[Path], progress: Progress
) -> IndexChange:
    """Index the archive folders: update the index (or build the first one) when there is
    something it does not have yet."""
    from rag.archive import Archive

    index_dir = str(settings.index_dir)
    with Archive(settings) as archive:
        try:
            stats = archive.stats()
        except IndexMissingError:
            stats = None
        except RagError as exc:
            return IndexChange("failed", None, None, index_dir, error=str(exc))
        before = stats.articles if stats is not None else 0
        ready = [str(f) for f in folders if _holds_articles(f)]
        if not ready:
            return IndexChange("skipped", before, before, index_dir)
        roots = stats.source_roots if stats is not None else ()
        outside = [f for f in ready if not any(_within(f, root) for root in roots)]
        if stats is not None and not store.index_pending() and not outside:
            return IndexChange("unchanged", before, before, index_dir, version=stats.version)
        try:
            if stats is None:
                report = archive.build(ready, progress=progress)
            else:
                report = archive.update(ready, progress=progress)
        except RagError as exc:
            return IndexChange("failed", before, before, index_dir, error=str(exc))
    store.index_done()
    action = "built" if stats is None else "updated"
    return IndexChange(action, before, report.articles, index_dir, version=report.version)


def _holds_articles(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    return any(p.suffix == SUFFIX and not p.name.startswith(".") for p in folder.iterdir())


def _within(folder: str, root: str) -> bool:
    return folder == root or folder.startswith(root.rstrip(os.sep) + os.sep)
