"""Article and passage metadata in SQLite: looked up by row, never loaded whole."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rag.records import Article, Chunk, SourceCount, SourceFile
from rag.text.paths import display_path

SCHEMA = """
CREATE TABLE articles (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, url TEXT, source TEXT,
  published TEXT, author TEXT, tags TEXT NOT NULL, path TEXT, content_hash TEXT NOT NULL,
  urls TEXT NOT NULL, dates TEXT NOT NULL
);
CREATE TABLE chunks (
  row INTEGER PRIMARY KEY, id TEXT NOT NULL, article_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE INDEX articles_published ON articles(published);
-- one row per source file: its raw hash and the article parsed from it, so an update
-- re-reads only files whose bytes changed, and its size and mtime when it was hashed,
-- so an update does not even read a file whose size and mtime are the same
CREATE TABLE sources (
  path BLOB PRIMARY KEY, raw_hash TEXT NOT NULL, article TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT -1, mtime_ns INTEGER NOT NULL DEFAULT -1
);
-- the MinHash signature of each source article's text (rag.ingest.dedup), so that an
-- update finds near-duplicates without hashing every article's shingles again
CREATE TABLE minhashes (key TEXT PRIMARY KEY, hashvalues BLOB NOT NULL);
"""


def article_to_json(article: Article) -> bytes:
    """The article as UTF-8 JSON (``surrogatepass``: a file name with undecodable bytes,
    held as lone surrogates, round-trips). Half the bytes of ASCII-escaped JSON for
    Chinese text, and a third of the time to parse back: every update reads them all."""
    data = asdict(article)
    data["published"] = article.published.isoformat() if article.published else None
    data["dates"] = [d.isoformat() for d in article.dates]
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")


def article_from_json(blob: bytes | str) -> Article:
    """``article_to_json``'s article; a ``str`` is the ASCII-escaped JSON of older versions."""
    text = blob if isinstance(blob, str) else blob.decode("utf-8", "surrogatepass")
    data = json.loads(text)
    data["published"] = datetime.fromisoformat(data["published"]) if data["published"] else None
    data["dates"] = tuple(datetime.fromisoformat(d) for d in data["dates"])
    data["tags"] = tuple(data["tags"])
    data["urls"] = tuple(data["urls"])
    return Article(**data)


def utc_key(value: datetime | None) -> str | None:
    """Publication time as a sortable UTC string, for date filters in SQL."""
    if value is None:
        return None

    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def write_metadata(
    path: Path,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    sources: Iterable[SourceFile],
    signatures: Mapping[str, bytes] | None = None,
) -> None:
    """Write a new metadata database; chunk ``row`` i is vector i of the dense index."""

    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        _insert_passages(conn, articles, chunks)
        _insert_sources(conn, sources)
        conn.executemany("INSERT INTO minhashes VALUES (?,?)", (signatures or {}).items())
        conn.commit()
    finally:
        conn.close()


def write_metadata_from(
    base: Path,
    path: Path,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    sources: Sequence[SourceFile],
    signatures: Mapping[str, bytes] | None = None,
) -> bool:
    """``write_metadata``'s database, made from a copy of ``base`` (the live version's):
    the source rows of files whose path, hash, size and mtime are unchanged are kept
    as they are, so an update encodes only the files it read again. False, with nothing
    written, when ``base`` has another schema."""
    if _schema(base) != _schema_of_new():
        return False
    shutil.copyfile(base, path)
    conn = sqlite3.connect(path)
    try:
        stored = {
            (bytes(row[0]), row[1], row[2], row[3])
            for row in conn.execute("SELECT path, raw_hash, size, mtime_ns FROM sources")
        }
        keep: list[SourceFile] = []
        fresh: list[SourceFile] = []
        for s in sources:
            key = (os.fsencode(s.path), s.raw_hash, s.size, s.mtime_ns)
            (keep if key in stored else fresh).append(s)
        conn.execute("DELETE FROM articles")
        conn.execute("DELETE FROM chunks")
        _insert_passages(conn, articles, chunks)
        conn.execute("CREATE TEMP TABLE kept (path BLOB PRIMARY KEY)")
        conn.executemany("INSERT INTO kept VALUES (?)", ((os.fsencode(s.path),) for s in keep))
        conn.execute("DELETE FROM sources WHERE path NOT IN (SELECT path FROM kept)")
        _insert_sources(conn, fresh)
        # articles stored as ASCII-escaped JSON by older versions: UTF-8 from now on, once
        old = conn.execute("SELECT path, article FROM sources WHERE typeof(article) = 'text'")
        conn.executemany(
            "UPDATE sources SET article = ? WHERE path = ?",
            [(article_to_json(article_from_json(blob)), path) for path, blob in old.fetchall()],
        )
        wanted = dict(signatures or {})
        conn.execute("CREATE TEMP TABLE wanted (key TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO wanted VALUES (?)", ((k,) for k in wanted))
        conn.execute("DELETE FROM minhashes WHERE key NOT IN (SELECT key FROM wanted)")
        conn.executemany("INSERT OR IGNORE INTO minhashes VALUES (?,?)", wanted.items())
        conn.commit()
    finally:
        conn.close()
    return True


def _schema(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return _schema_of(conn)
    finally:
        conn.close()


@functools.lru_cache(maxsize=1)
def _schema_of_new() -> list[tuple[str, str]]:
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        return _schema_of(conn)
    finally:
        conn.close()


def _schema_of(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every table's and index's SQL, whitespace normalised, by name."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    return sorted((name, " ".join(sql.split())) for name, sql in rows)


def article_values(a: Article) -> tuple[object, ...]:
    """The ``articles`` row stored for ``a`` (equal rows: an unchanged article)."""
    return (
        a.id,
        a.title,
        a.text,
        a.url,
        a.source,
        utc_key(a.published),
        a.author,
        json.dumps(list(a.tags), ensure_ascii=False),
        display_path(a.path) if a.path else None,
        a.content_hash,
        json.dumps(list(a.urls), ensure_ascii=False),
        json.dumps([d.isoformat() for d in a.dates]),
    )


def article_key(a: Article) -> tuple[object, ...]:
    """``article_values`` with the text left out (None) when the content hash stands for
    it: equal keys, an unchanged article (compared without reading every stored text)."""
    values = article_values(a)
    return (*values[:2], None, *values[3:]) if a.content_hash else values


def _insert_passages(
    conn: sqlite3.Connection, articles: Sequence[Article], chunks: Sequence[Chunk]
) -> None:
    conn.executemany(
        "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", map(article_values, articles)
    )
    conn.executemany(
        "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
        ((row, c.id, c.article_id, c.ordinal, c.start, c.end) for row, c in enumerate(chunks)),
    )


def _insert_sources(conn: sqlite3.Connection, sources: Iterable[SourceFile]) -> None:
    conn.executemany(
        "INSERT INTO sources VALUES (?,?,?,?,?)",
        (
            (os.fsencode(s.path), s.raw_hash, article_to_json(s.article), s.size, s.mtime_ns)
            for s in sources
        ),
    )


class MetadataStore:
    """Read-only access to one index version's metadata; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection opened now and shared under a lock: the version directory may be
        # garbage-collected after a newer one is published, and an open SQLite file stays
        # readable after it is unlinked, so a long-lived reader keeps working.
        # immutable=1: versions never change after publishing, so SQLite may skip locking.
        self._conn = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._conn.execute("SELECT count(*) FROM chunks").fetchone()
        self._article_cache: dict[str, Article] = {}
        self._lock = threading.RLock()

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def article(self, article_id: str) -> Article | None:
        with self._lock:
            cached = self._article_cache.get(article_id)
        if cached is not None:
            return cached
        rows = self._query(
            "SELECT id, title, text, url, source, author, tags, path, content_hash, urls, dates "
            "FROM articles WHERE id = ?",
            (article_id,),
        )
        if not rows:
            return None
        row = rows[0]
        dates = tuple(datetime.fromisoformat(d) for d in json.loads(row[10]))
        article = Article(
            id=row[0],
            title=row[1],
            text=row[2],
            url=row[3],
            source=row[4],
            published=min(dates) if dates else None,
            author=row[5],
            tags=tuple(json.loads(row[6])),
            path=row[7],
            content_hash=row[8],
            urls=tuple(json.loads(row[9])),
            dates=dates,
        )
        with self._lock:
            if len(self._article_cache) > 4096:
                self._article_cache.clear()
            self._article_cache[article_id] = article
        return article

    def chunks(self, rows: Sequence[int]) -> dict[int, Chunk]:
        """Chunks by dense-index row, with their text cut from the article."""
        if not rows:
            return {}
        found: dict[int, Chunk] = {}
        for start in range(0, len(rows), 500):
            part = [int(r) for r in rows[start : start + 500]]
            marks = ",".join("?" * len(part))
            for row, cid, aid, ordinal, s, e in self._query(
                f'SELECT row, id, article_id, ordinal, start, "end" FROM chunks '
                f"WHERE row IN ({marks})",
                part,
            ):
                article = self.article(aid)
                text = article.text[s:e] if article else ""
                found[row] = Chunk(
                    id=cid, article_id=aid, ordinal=ordinal, start=s, end=e, text=text
                )
        return found

    def article_chunks(self, article_id: str) -> list[Chunk]:
        rows = [
            r[0]
            for r in self._query(
                "SELECT row FROM chunks WHERE article_id = ? ORDER BY ordinal", (article_id,)
            )
        ]
        by_row = self.chunks(rows)
        return [by_row[r] for r in rows]

    def rows_matching(
        self, since: str | None = None, until: str | None = None, source: str | None = None
    ) -> list[int]:
        """Dense-index rows of passages whose article passes the filters (inclusive dates)."""
        where, args = [], []
        if since:
            where.append("a.published >= ?")
            args.append(since)
        if until:
            where.append("a.published <= ?")
            args.append(until)
        if source:
            # instr, not LIKE: a "%" or "_" the user typed is a character, not a wildcard
            where.append("(instr(lower(a.source), ?) > 0 OR instr(lower(a.url), ?) > 0)")
            args += [source.lower(), source.lower()]
        sql = "SELECT c.row FROM chunks c JOIN articles a ON a.id = c.article_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [r[0] for r in self._query(sql, args)]

    def sources(self) -> list[SourceFile]:
        """Every source file's path, raw hash and parsed article (the update's parse cache)."""
        columns = {row[1] for row in self._query("PRAGMA table_info(sources)")}
        # versions written before the size and mtime were recorded: hash every file once
        stat = "size, mtime_ns" if "mtime_ns" in columns else "-1, -1"
        return [
            SourceFile(os.fsdecode(path), raw_hash, article_from_json(blob), size, mtime_ns)
            for path, raw_hash, blob, size, mtime_ns in self._query(
                f"SELECT path, raw_hash, article, {stat} FROM sources"
            )
        ]

    def source_keys(self) -> dict[str, tuple[str, int, int]]:
        """Each source file's (raw hash, size, mtime) by path, without parsing its article."""
        return {
            os.fsdecode(path): (raw_hash, size, mtime_ns)
            for path, raw_hash, size, mtime_ns in self._query(
                "SELECT path, raw_hash, size, mtime_ns FROM sources"
            )
        }

    def signature_keys(self) -> frozenset[str]:
        """The keys of the stored MinHash signatures, without reading the signatures."""
        if not self._has_minhashes():
            return frozenset()
        return frozenset(k for (k,) in self._query("SELECT key FROM minhashes"))

    def signatures(self) -> dict[str, bytes]:
        """The stored MinHash signatures by text key (none in versions from before them)."""
        if not self._has_minhashes():
            return {}
        return {k: v for k, v in self._query("SELECT key, hashvalues FROM minhashes")}

    def _has_minhashes(self) -> bool:
        tables = {r[0] for r in self._query("SELECT name FROM sqlite_master")}
        return "minhashes" in tables

    def passage_layout(
        self,
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[int, Chunk]]]]:
        """Each article's (title, text), and its passages with their rows, in order."""
        texts = {
            aid: (title, text)
            for aid, title, text in self._query("SELECT id, title, text FROM articles")
        }
        passages: dict[str, list[tuple[int, Chunk]]] = {}
        for row, cid, aid, ordinal, start, end in self._query(
            'SELECT row, id, article_id, ordinal, start, "end" FROM chunks '
            "ORDER BY article_id, ordinal"
        ):
            text = texts[aid][1][start:end] if aid in texts else ""
            passages.setdefault(aid, []).append(
                (
                    row,
                    Chunk(id=cid, article_id=aid, ordinal=ordinal, start=start, end=end, text=text),
                )
            )
        return texts, passages

    def article_keys(self) -> dict[str, tuple[object, ...]]:
        """Every stored article's ``article_key`` by id."""
        rows = self._query(
            "SELECT id, title, CASE WHEN content_hash = '' THEN text END, url, source, "
            "published, author, tags, path, content_hash, urls, dates FROM articles"
        )
        return {row[0]: tuple(row) for row in rows}

    def rows_of(self, article_ids: Iterable[str]) -> list[int]:
        """The rows of the passages of ``article_ids``, ascending."""
        ids = list(article_ids)
        rows: list[int] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            rows += [
                r[0]
                for r in self._query(f"SELECT row FROM chunks WHERE article_id IN ({marks})", part)
            ]
        return sorted(rows)

    def source_counts(self, among: Iterable[str] | None = None) -> tuple[SourceCount, ...]:
        """Articles per source, most first; of the articles ``among`` when given."""
        if among is None:
            rows = self._query(
                "SELECT source, count(*) FROM articles GROUP BY source "
                "ORDER BY count(*) DESC, source"
            )
            return tuple(SourceCount(r[0] or "unknown", r[1]) for r in rows)
        counts: dict[str, int] = {}
        ids = list(among)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for source, n in self._query(
                f"SELECT source, count(*) FROM articles WHERE id IN ({marks}) GROUP BY source",
                part,
            ):
                counts[source or "unknown"] = counts.get(source or "unknown", 0) + n
        return tuple(SourceCount(name, n) for name, n in counts.items())

    def passage_count(self) -> int:
        return int(self._query("SELECT count(*) FROM chunks")[0][0])

    def row_count(self) -> int:
        """Rows are 0..row_count-1 (every row a live passage in a single-segment version)."""
        return self.passage_count()

    def article_ids(self) -> set[str]:
        return {row[0] for row in self._query("SELECT id FROM articles")}

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class MetadataReader(Protocol):
    """What readers and updates ask of a version's metadata: a ``MetadataStore``, or a
    base + delta version's pair of them (``rag.index.local.segment_reads``)."""

    path: Path

    def article(self, article_id: str) -> Article | None: ...

    def chunks(self, rows: Sequence[int]) -> dict[int, Chunk]: ...

    def article_chunks(self, article_id: str) -> list[Chunk]: ...

    def rows_matching(
        self, since: str | None = None, until: str | None = None, source: str | None = None
    ) -> list[int]: ...

    def row_count(self) -> int: ...

    def sources(self) -> list[SourceFile]: ...

    def signatures(self) -> dict[str, bytes]: ...

    def article_keys(self) -> dict[str, tuple[object, ...]]: ...

    def passage_layout(
        self,
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[int, Chunk]]]]: ...

    def source_counts(self) -> tuple[SourceCount, ...]: ...

    def passage_count(self) -> int: ...

    def close(self) -> None: ...


class MetadataReads:
    """The passage and article reads every backend's reader answers from its version's
    ``meta.sqlite`` (a mixin: the reader sets ``meta`` and has ``passages``)."""

    meta: MetadataReader

    @property
    def passages(self) -> int:
        raise NotImplementedError

    def chunks(self, rows: Sequence[int]) -> dict[int, Chunk]:
        return self.meta.chunks(rows)

    def article(self, article_id: str) -> Article | None:
        return self.meta.article(article_id)

    def article_chunks(self, article_id: str) -> list[Chunk]:
        return self.meta.article_chunks(article_id)

    def iter_chunks(self, batch: int = 1000) -> Iterator[Chunk]:
        """Every live passage in row order."""
        end = self.meta.row_count()
        for start in range(0, end, batch):
            rows = list(range(start, min(start + batch, end)))
            found = self.meta.chunks(rows)
            yield from (found[r] for r in rows if r in found)
