"""The feed state: subscriptions, their HTTP validators and every item already handled.

One SQLite file, by default ``<index_dir>/feeds.sqlite`` so that it travels with the
index. Every change is one transaction, so a pull killed at any moment leaves the state
as of its last finished item.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import FeedError
from rag.feeds.records import Feed
from rag.locks import take

STORE_NAME = "feeds.sqlite"
LOCK_NAME = "feeds.lock"
SCHEMA_VERSION = 1
# A failed item is tried again on the next pulls that still list it, this many times
# in all, then given up: a page gone for good must not be reported on every pull.
MAX_ATTEMPTS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    archive TEXT NOT NULL,
    added_at TEXT NOT NULL,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_pulled TEXT,
    last_status TEXT,
    allow_private INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    feed_url TEXT NOT NULL REFERENCES feeds(url) ON DELETE CASCADE,
    key TEXT NOT NULL,
    link TEXT,
    file TEXT,
    status TEXT NOT NULL,          -- page, fallback or failed
    attempts INTEGER NOT NULL,
    reason TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (feed_url, key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedStore:
    """The state of one index's feeds. Use as a context manager, or call ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                # a column added later: an older rag reads the store as before (it
                # selects its columns by name), so the schema version stays
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(feeds)")}
                if "allow_private" not in columns:
                    self._db.execute(
                        "ALTER TABLE feeds ADD COLUMN allow_private INTEGER NOT NULL DEFAULT 0"
                    )
                found = self._meta("schema")
                if found is None:
                    self._set_meta("schema", str(SCHEMA_VERSION))
                elif int(found) > SCHEMA_VERSION:
                    raise FeedError(
                        f"{path} was written by a newer rag-news (feed store version {found})"
                    )
        except sqlite3.DatabaseError as exc:
            raise FeedError(f"cannot read the feed store {path} ({exc})") from None

    def __enter__(self) -> FeedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic change; SQLite's failures (locked too long, disk full) as FeedError."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise FeedError(f"cannot write the feed store {self.path} ({exc})") from None

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------------ subscriptions

    def feeds(self) -> list[Feed]:
        rows = self._db.execute(
            "SELECT f.url, f.archive, f.added_at, f.title, f.etag, f.last_modified, "
            "f.last_pulled, f.last_status, "
            "(SELECT COUNT(*) FROM items i WHERE i.feed_url = f.url AND i.status != 'failed'), "
            "f.allow_private FROM feeds f ORDER BY f.added_at, f.url"
        ).fetchall()
        return [replace(Feed(*row[:-1]), allow_private=bool(row[-1])) for row in rows]

    def feed(self, url: str) -> Feed | None:
        return next((f for f in self.feeds() if f.url == url), None)

    def add(self, url: str, archive: str, allow_private: bool = False) -> Feed:
        with self._transaction():
            self._db.execute(
                "INSERT INTO feeds (url, archive, added_at, allow_private) VALUES (?, ?, ?, ?)",
                (url, archive, now_iso(), int(allow_private)),
            )
        found = self.feed(url)
        assert found is not None
        return found

    def allow_private(self, url: str) -> Feed:
        """Let the feed's own server be on a private address from now on."""
        with self._transaction():
            self._db.execute("UPDATE feeds SET allow_private = 1 WHERE url = ?", (url,))
        found = self.feed(url)
        assert found is not None
        return found

    def remove(self, url: str) -> None:
        """Forget the feed and the items it saw (their files stay where they are)."""
        with self._transaction():
            self._db.execute("DELETE FROM feeds WHERE url = ?", (url,))

    def record_pull(
        self,
        url: str,
        status: str,
        *,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        validators: bool = False,
    ) -> None:
        """Note the outcome of pulling ``url``; with ``validators``, store its ETag and
        Last-Modified (only once every item it listed has been handled)."""
        with self._transaction():
            self._db.execute(
                "UPDATE feeds SET last_pulled = ?, last_status = ?, "
                "title = COALESCE(?, title) WHERE url = ?",
                (now_iso(), status, title, url),
            )
            if validators:
                self._db.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE url = ?",
                    (etag, last_modified, url),
                )

    # ------------------------------------------------------------------ items

    def wants(self, feed_url: str, key: str) -> bool:
        """True for an item never handled, or one that failed fewer than MAX_ATTEMPTS times."""
        row = self._db.execute(
            "SELECT status, attempts FROM items WHERE feed_url = ? AND key = ?", (feed_url, key)
        ).fetchone()
        return row is None or (row[0] == "failed" and row[1] < MAX_ATTEMPTS)

    def attempts(self, feed_url: str, key: str) -> int:
        row = self._db.execute(
            "SELECT attempts FROM items WHERE feed_url = ? AND key = ?", (feed_url, key)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def retries_pending(self, feed_url: str) -> bool:
        """True when an item of the feed failed and will be tried again."""
        row = self._db.execute(
            "SELECT 1 FROM items WHERE feed_url = ? AND status = 'failed' AND attempts < ?",
            (feed_url, MAX_ATTEMPTS),
        ).fetchone()
        return row is not None

    def record_saved(
        self, feed_url: str, key: str, link: str | None, file: str, status: str
    ) -> None:
        """The item's file is in place (``status`` page or fallback); the index needs it."""
        with self._transaction():
            self._upsert_item(feed_url, key, link, file, status, None)
            self._set_meta("index_pending", "1")

    def record_failed(self, feed_url: str, key: str, link: str | None, reason: str) -> None:
        with self._transaction():
            self._upsert_item(feed_url, key, link, None, "failed", reason)

    def _upsert_item(
        self,
        feed_url: str,
        key: str,
        link: str | None,
        file: str | None,
        status: str,
        reason: str | None,
    ) -> None:
        # a feed removed while this pull ran has no row any more: nothing to record
        self._db.execute(
            "INSERT INTO items (feed_url, key, link, file, status, attempts, reason, updated_at) "
            "SELECT ?, ?, ?, ?, ?, 1, ?, ? WHERE EXISTS (SELECT 1 FROM feeds WHERE url = ?) "
            "ON CONFLICT (feed_url, key) DO UPDATE SET link = excluded.link, "
            "file = excluded.file, status = excluded.status, attempts = items.attempts + 1, "
            "reason = excluded.reason, updated_at = excluded.updated_at",
            (feed_url, key, link, file, status, reason, now_iso(), feed_url),
        )

    # ------------------------------------------------------------------ the index

    def index_pending(self) -> bool:
        """True when an item was saved since the index last took in the archive folders."""
        return self._meta("index_pending") == "1"

    def index_done(self) -> None:
        with self._transaction():
            self._set_meta("index_pending", "0")


@contextlib.contextmanager
def pull_lock(folder: Path) -> Iterator[None]:
    """Hold the feed pull lock of ``folder``; a second pull fails at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as handle:
        take(
            handle,
            0.0,
            lambda who: FeedError(
                f"another 'rag feed pull' is running on {folder}{who}; let it finish"
            ),
        )
        yield  # closing the file releases the lock, also when the process dies
