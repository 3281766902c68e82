"""Embedding cache keyed by (embedder, hash of the embedded text), shared by index versions.

A rebuild with unchanged text embeds nothing; changing the chunking embeds only the new
chunk texts. SQLite transactions keep it consistent if a writer is killed mid-way.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path, embedder: str, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.dim = dim
        self.conn = sqlite3.connect(path, timeout=60)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT NOT NULL, key TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (embedder, key))"
        )

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
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
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                (
                    (self.embedder, key, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
                    for key, vec in zip(keys, vectors, strict=True)
                ),
            )

    def close(self) -> None:
        self.conn.close()
