"""The watches of one index and what each has accounted for, in one SQLite file.

``<index_dir>/watches.sqlite``, beside the feeds' ``feeds.sqlite``: the user's data, not
part of any index version, so a rebuild (which writes a new version under ``versions/``)
leaves it alone. Three tables: ``watches`` (the saved questions), ``known`` (per watch,
every article id with the text hash it had when the watch last looked at it) and
``shown`` (every item a check reported, for the Atom feed and the page).

A check holds ``watches.lock`` (``check_lock``) from reading ``known`` to writing it, and
``claim`` writes the items and the new ``known`` rows in one transaction that first
drops items another writer recorded meanwhile: two checks never both report an item,
and a check killed before its transaction reports nothing and changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from rag.errors import WatchError, WatchNotFoundError, write_failure
from rag.locks import take
from rag.records import Watch, WatchItem

STORE_NAME = "watches.sqlite"
LOCK_NAME = "watches.lock"
SCHEMA_VERSION = 1
# How long a check waits for another check of the same index to finish.
LOCK_WAIT_SECONDS = 60.0
MAX_NAME = 60
# Letters (any script), digits, '_', '-' and '.': safe in a file name and a URL path.
_NAME = re.compile(r"^[^\W][\w.\-]*$")
_NOT_NAME = re.compile(r"[^\w.\-]+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    source TEXT,
    since TEXT,
    created_at TEXT NOT NULL,
    last_checked TEXT
);
CREATE TABLE IF NOT EXISTS known (
    watch TEXT NOT NULL REFERENCES watches(name) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (watch, article_id)
);
CREATE TABLE IF NOT EXISTS shown (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    watch TEXT NOT NULL REFERENCES watches(name) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    found_at TEXT NOT NULL,
    item TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shown_watch ON shown(watch, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def store_path(index_dir: Path) -> Path:
    return Path(index_dir) / STORE_NAME


def name_for(question: str) -> str:
    """A watch name made from ``question``: its words joined by '-', at most MAX_NAME long."""
    return _NOT_NAME.sub("-", question.strip()).strip("-._")[:MAX_NAME].strip("-._")


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        raise WatchError(
            f"invalid watch name {name!r}: use up to {MAX_NAME} letters, digits, '-', '_' "
            "or '.', starting with a letter or digit"
        )
    return name


class WatchStore:
    """The watch state of one index. Use as a context manager, or call ``close``."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.is_file():
            self._db: sqlite3.Connection | None = None
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                found = self._meta("schema")
                if found is None:
                    self._set_meta("schema", str(SCHEMA_VERSION))
                elif int(found) > SCHEMA_VERSION:
                    raise WatchError(
                        f"{path} was written by a newer rag-news (watch store version {found})"
                    )
        except sqlite3.DatabaseError as exc:
            raise WatchError(f"cannot read the watch store {path} ({exc})") from None
        except OSError as exc:
            raise write_failure(exc, path.parent, "the watch store") or exc from None

    def __enter__(self) -> WatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic change; SQLite's failures (locked too long, disk full) as one line."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            failure = write_failure(exc, self.path.parent, "the watch store")
            raise failure or WatchError(
                f"cannot write the watch store {self.path} ({exc})"
            ) from None

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------------ watches

    def watches(self) -> list[Watch]:
        if self._db is None:
            return []
        rows = self.db.execute(
            "SELECT w.name, w.question, w.created_at, w.source, w.since, w.last_checked, "
            "(SELECT COUNT(*) FROM shown s WHERE s.watch = w.name) "
            "FROM watches w ORDER BY w.created_at, w.name"
        ).fetchall()
        return [
            Watch(
                name=row[0],
                question=row[1],
                created_at=datetime.fromisoformat(row[2]),
                source=row[3],
                since=date.fromisoformat(row[4]) if row[4] else None,
                last_checked=datetime.fromisoformat(row[5]) if row[5] else None,
                reported=int(row[6]),
            )
            for row in rows
        ]

    def watch(self, name: str) -> Watch:
        found = next((w for w in self.watches() if w.name == name), None)
        if found is None:
            raise WatchNotFoundError(f"no watch named {name!r}; see 'rag watch list'")
        return found

    def add(self, watch: Watch, known: Mapping[str, str]) -> Watch:
        """Save ``watch``, having accounted for the articles ``known`` (id → text hash)."""
        with self._transaction():
            taken = self.db.execute("SELECT 1 FROM watches WHERE name = ?", (watch.name,))
            if taken.fetchone() is not None:
                raise WatchError(
                    f"a watch named {watch.name!r} exists; choose another --name or remove it first"
                )
            self.db.execute(
                "INSERT INTO watches (name, question, source, since, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    watch.name,
                    watch.question,
                    watch.source,
                    watch.since.isoformat() if watch.since else None,
                    watch.created_at.isoformat(),
                ),
            )
            self._remember(watch.name, known)
        return self.watch(watch.name)

    def remove(self, name: str) -> Watch:
        found = self.watch(name)
        with self._transaction():
            self.db.execute("DELETE FROM watches WHERE name = ?", (name,))
        return found

    # ------------------------------------------------------------------ what a watch saw

    def known(self, name: str) -> dict[str, str]:
        """Every article id the watch has accounted for, with the text hash it had then."""
        rows = self.db.execute(
            "SELECT article_id, content_hash FROM known WHERE watch = ?", (name,)
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def claim(
        self,
        name: str,
        items: Sequence[WatchItem],
        seen: Mapping[str, str],
        checked_at: datetime,
    ) -> tuple[WatchItem, ...]:
        """Record ``items`` as shown and every article in ``seen`` as accounted for, in
        one transaction; returns the items no other check recorded first."""
        with self._transaction():
            if self.db.execute("SELECT 1 FROM watches WHERE name = ?", (name,)).fetchone() is None:
                raise WatchNotFoundError(f"watch {name!r} was removed during the check")
            before = {}
            for item in items:
                row = self.db.execute(
                    "SELECT content_hash FROM known WHERE watch = ? AND article_id = ?",
                    (name, item.article_id),
                ).fetchone()
                before[item.article_id] = None if row is None else row[0]
            fresh = tuple(i for i in items if before[i.article_id] != i.content_hash)
            for item in reversed(fresh):  # newest last, so the newest has the highest seq
                self.db.execute(
                    "INSERT INTO shown (watch, article_id, content_hash, found_at, item) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        name,
                        item.article_id,
                        item.content_hash,
                        checked_at.isoformat(),
                        item_to_json(item),
                    ),
                )
            # the items' own hashes last: an article changed between the two reads of the
            # check is remembered as it was shown
            self._remember(name, {**seen, **{i.article_id: i.content_hash for i in fresh}})
            self.db.execute(
                "UPDATE watches SET last_checked = ? WHERE name = ?",
                (checked_at.isoformat(), name),
            )
        return fresh

    def shown(self, name: str, limit: int = 50) -> list[WatchItem]:
        """The last ``limit`` items the watch reported, most recently found first."""
        rows = self.db.execute(
            "SELECT item FROM shown WHERE watch = ? ORDER BY seq DESC LIMIT ?", (name, limit)
        ).fetchall()
        return [item_from_json(row[0]) for row in rows]

    def _remember(self, name: str, known: Mapping[str, str]) -> None:
        self.db.executemany(
            "INSERT INTO known (watch, article_id, content_hash) VALUES (?, ?, ?) "
            "ON CONFLICT (watch, article_id) DO UPDATE SET content_hash = excluded.content_hash",
            [(name, article_id, digest) for article_id, digest in known.items()],
        )


def item_to_json(item: WatchItem) -> str:
    return json.dumps(
        {
            "article_id": item.article_id,
            "content_hash": item.content_hash,
            "title": item.title,
            "url": item.url,
            "outlet": item.outlet,
            "published": item.published.isoformat() if item.published else None,
            "passage": item.passage,
            "sentence": item.sentence,
            "score": item.score,
            "found_at": item.found_at.isoformat(),
            "also_reported_by": list(item.also_reported_by),
        },
        ensure_ascii=False,
    )


def item_from_json(text: str) -> WatchItem:
    data = json.loads(text)
    return WatchItem(
        article_id=data["article_id"],
        content_hash=data["content_hash"],
        title=data["title"],
        url=data["url"],
        outlet=data["outlet"],
        published=datetime.fromisoformat(data["published"]) if data["published"] else None,
        passage=data["passage"],
        sentence=data["sentence"],
        score=float(data["score"]),
        found_at=datetime.fromisoformat(data["found_at"]),
        also_reported_by=tuple(data["also_reported_by"]),
    )


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@contextlib.contextmanager
def check_lock(folder: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the check lock of the index ``folder``; another check waits up to ``wait``
    seconds for it. The system releases it when the holder dies, also by SIGKILL."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as handle:
        take(
            handle,
            wait,
            lambda who: WatchError(
                f"another watch check is running on {folder}{who} "
                f"(waited {wait:.0f} s); try again when it has finished"
            ),
            poll=0.05,
        )
        yield
