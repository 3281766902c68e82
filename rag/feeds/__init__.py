"""RSS/Atom feeds into the archive: subscribe, pull new items as seed-format files, index.

    from rag import Settings
    from rag.feeds import add_feed, pull_feeds
    settings = Settings(index_dir="indexes/news")
    add_feed(settings, "https://www.rfi.fr/cn/rss")
    report = pull_feeds(settings)          # fetch, save, then Archive.update
    print(report.new_items, report.index.articles_after)

Modules: ``store`` (the SQLite state), ``fetch`` (HTTP), ``parse`` (feedparser),
``save`` (seed-format files), ``subscriptions`` (add/remove/list), ``pull``.
"""

from rag.feeds.pull import pull_feeds
from rag.feeds.records import Feed, FeedItem, FeedResult, IndexChange, PullReport
from rag.feeds.subscriptions import add_feed, default_archive, list_feeds, remove_feed, store_path

__all__ = [
    "Feed",
    "FeedItem",
    "FeedResult",
    "IndexChange",
    "PullReport",
    "add_feed",
    "default_archive",
    "list_feeds",
    "pull_feeds",
    "remove_feed",
    "store_path",
]
