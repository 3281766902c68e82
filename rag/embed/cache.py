"""Embedding cache keyed by (embedder fingerprint, hash of the embedded text), shared by
index versions. The fingerprint names the model's weights and the engine that ran them
(``EmbeddingBackend.fingerprint``): vectors of another model or engine are never reused.

A rebuild with unchanged text embeds nothing; changing the chunking embeds only the new
chunk texts. SQLite transactions keep it consistent if a writer is killed mid-way.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from rag.errors import IndexCorruptError, write_failure
from rag.records import FileProblem, FolderCheck


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path, embedder: str, dim: int) -> None:
        self.path = path
        self.embedder = embedder
        self.dim = dim
        with self._writing():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=60)
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT NOT NULL, key TEXT NOT NULL, "
                "vector BLOB NOT NULL, PRIMARY KEY (embedder, key))"
            )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A full disk or a read-only folder as one line naming the cache."""
        try:
            yield
        except (OSError, sqlite3.Error) as exc:
            failure = write_failure(
                exc, self.path.parent, f"the embedding cache {self.path}", "cache_dir"
            )
            if failure is None:
                if isinstance(exc, sqlite3.DatabaseError):
                    raise IndexCorruptError(
                        f"the embedding cache {self.path} is damaged ({exc}); delete it "
                        "(its vectors are made again) and run again"
                    ) from None
                raise
            raise failure from None

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._writing():
            self._read(unique, found)
        return found

    def _read(self, unique: list[str], found: dict[str, np.ndarray]) -> None:
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self.conn.execute(
                f"SELECT key, vector FROM vectors WHERE embedder = ? AND key IN ({marks})",
                [self.embedder, *part],
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dim,):
                    found[key] = vector

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        with self._writing(), self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                (
                    (self.embedder, key, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
                    for key, vec in zip(keys, vectors, strict=True)
                ),
            )

    def close(self) -> None:
        self.conn.close()


def check_cache(path: Path) -> FolderCheck:
    """SQLite's own check of every page of the embedding cache (read only)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        rows = [str(exc)]
    problems = () if rows == ["ok"] else (FileProblem(path.name, "; ".join(rows[:3])),)
    return FolderCheck("embedding cache", str(path), 1, path.stat().st_size, problems)
