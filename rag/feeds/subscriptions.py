"""Subscribe, unsubscribe, list: the feeds of one index and where their articles go.

The state lives in ``<index_dir>/feeds.sqlite``. A feed's articles go to the folder
given with ``--archive``, by default ``<index_dir>-feeds/<host>-<hash>/`` beside the
index (``indexes/news`` → ``indexes/news-feeds/www.rfi.fr-1a2b3c4d/``): outside the
index, because the articles are the source and the index can always be rebuilt from
them, and one folder per feed, so a feed's articles can be found and deleted together.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from rag.config import Settings
from rag.errors import FeedError
from rag.feeds.fetch import is_http_url
from rag.feeds.records import Feed
from rag.feeds.store import STORE_NAME, FeedStore

_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")


def store_path(settings: Settings) -> Path:
    return Path(settings.index_dir) / STORE_NAME


def default_archive(settings: Settings, url: str) -> Path:
    """``<index_dir>-feeds/<host>-<hash of the URL>``, absolute."""
    index_dir = Path(os.path.abspath(settings.index_dir))
    host = _UNSAFE.sub("_", urlsplit(url).netloc.lower()).strip("._") or "feed"
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return index_dir.parent / f"{index_dir.name}-feeds" / f"{host[:60]}-{digest}"


def add_feed(
    settings: Settings,
    url: str,
    archive: Path | str | None = None,
    *,
    allow_private: bool = False,
) -> tuple[Feed, bool]:
    """Subscribe the index to the feed at ``url``; returns the feed and whether it is new.

    ``allow_private``: the feed's own server (the host and port of ``url``) may be on this
    machine or a private network; pages it links to elsewhere must still be public.
    Nothing is fetched (``pull_feeds`` does that). Adding a feed again with the same (or
    no) archive folder changes nothing but ``allow_private``, which it may turn on; with
    another folder it is an error.
    """
    url = url.strip()
    if not is_http_url(url):
        raise FeedError(f"{url!r} is not an http(s) URL; give the feed's address")
    index_dir = Path(os.path.abspath(settings.index_dir))
    folder = Path(os.path.abspath(os.path.expanduser(archive))) if archive else None
    if folder is not None:
        if folder.exists() and not folder.is_dir():
            raise FeedError(f"archive folder {folder} is a file")
        if folder == index_dir or index_dir in folder.parents:
            raise FeedError(
                f"archive folder {folder} is inside the index {index_dir}; "
                "keep articles outside it (the index is rebuilt from them)"
            )
    if index_dir.is_file():
        raise FeedError(f"{index_dir} is a file, not an index folder")
    with FeedStore(store_path(settings)) as store:
        found = store.feed(url)
        if found is not None:
            if folder is not None and Path(found.archive) != folder:
                raise FeedError(
                    f"already subscribed to {url} with archive {found.archive}; "
                    "remove it first to change the folder"
                )
            if allow_private and not found.allow_private:
                found = store.allow_private(url)
            return found, False
        target = folder or default_archive(settings, url)
        return store.add(url, str(target), allow_private), True


def remove_feed(settings: Settings, url: str) -> Feed:
    """Unsubscribe; the articles already saved stay in the archive folder and the index."""
    url = url.strip()
    path = store_path(settings)
    found = None
    if path.is_file():
        with FeedStore(path) as store:
            found = store.feed(url)
            if found is not None:
                store.remove(url)
    if found is None:
        raise FeedError(f"not subscribed to {url} in {settings.index_dir}; see 'rag feed list'")
    return found


def list_feeds(settings: Settings) -> tuple[Feed, ...]:
    """The index's subscriptions, oldest first (none when there is no feed store)."""
    path = store_path(settings)
    if not path.is_file():
        return ()
    with FeedStore(path) as store:
        return tuple(store.feeds())
