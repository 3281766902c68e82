"""The base + delta layout: an update writes what changed, not the whole archive again.

A version written by an update may hold its passages in two segments:

    versions/<version>/
      manifest.json        the whole live version (counts, roots; ``base_passages``)
      dense.faiss, meta.sqlite, bm25/
                           the base: hard links to the files of the version it came from
      delta/               a complete small version (flat FAISS, BM25, metadata) holding
                           the articles added or changed since the base was written
      delta/removed.json   what of the base is no longer live: articles, source files
      delta/removed_rows.npy, delta/removed_df.npy
                           their passage rows, and how many of them hold each base token

Rows are numbered base first (0..base_passages-1, removed rows never returned), then
the delta's. Versions are never modified once published, so sharing the base's files by
hard link is safe: removing an old version removes a name, not the data another
version links. The next update rewrites only the delta (its size, not the archive's);
once the delta and the removed rows pass ``MAX_DELTA_SHARE`` of the base, the update
writes one whole version again (a compaction), exactly as a rebuild would lay it out.

Keyword scores stay comparable across the segments: each segment's scores are rescaled
per query token to the idf of the live passages (base + delta - removed), and the
delta's length normalisation uses the base's average length. Until the next compaction
the only difference from a rebuild is that average length, which moves by at most
the delta's share.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index.sparse import term_arrays
from rag.index.store import MANIFEST, IndexManifest

DELTA_DIR = "delta"
_REMOVED = "removed.json"
_REMOVED_ROWS = "removed_rows.npy"
_REMOVED_DF = "removed_df.npy"
# Below this many base passages an update writes the whole version (it takes well under
# a second there, and a single-segment index is exactly a rebuild's).
DELTA_MIN_BASE_PASSAGES = 10_000
# An update compacts (writes one whole version) once the delta's passages plus the
# removed base rows would pass this share of the base: each delta rewrite then costs at
# most a fifth of a full write, and a full write comes once per that many changes.
MAX_DELTA_SHARE = 0.2


@dataclass(frozen=True)
class Tombstones:
    """What of a version's base is no longer live."""

    base_passages: int
    rows: np.ndarray  # base passage rows, ascending (int64)
    articles: frozenset[str]
    sources: frozenset[str]  # source file paths whose base record is replaced or gone
    df_ids: np.ndarray  # base token ids the removed rows hold ...
    df_counts: np.ndarray  # ... and in how many of them

    def save(self, delta_dir: Path) -> None:
        record = {
            "base_passages": self.base_passages,
            "articles": sorted(self.articles),
            "sources": sorted(self.sources),
        }
        # ASCII escapes: file names with undecodable bytes round-trip
        (delta_dir / _REMOVED).write_text(json.dumps(record, ensure_ascii=True), "utf-8")
        np.save(delta_dir / _REMOVED_ROWS, self.rows.astype(np.int64))
        np.save(delta_dir / _REMOVED_DF, np.stack([self.df_ids, self.df_counts]).astype(np.int64))

    @classmethod
    def load(cls, delta_dir: Path) -> Tombstones:
        record = json.loads((delta_dir / _REMOVED).read_text(encoding="utf-8"))
        rows = np.load(delta_dir / _REMOVED_ROWS)
        df = np.load(delta_dir / _REMOVED_DF)
        if df.ndim != 2 or len(df) != 2:
            raise ValueError(f"{delta_dir / _REMOVED_DF} is damaged")
        return cls(
            base_passages=int(record["base_passages"]),
            rows=rows.astype(np.int64),
            articles=frozenset(record["articles"]),
            sources=frozenset(record["sources"]),
            df_ids=df[0],
            df_counts=df[1],
        )


def delta_dir(version_dir: Path) -> Path | None:
    """The version's delta segment, or None for a single-segment version."""
    folder = version_dir / DELTA_DIR
    return folder if (folder / MANIFEST).is_file() else None


def base_passages(manifest: IndexManifest) -> int:
    """How many rows the version's base segment holds (all of them without a delta)."""
    return int(manifest.extra.get("base_passages", manifest.passages))


def delta_possible(base_rows: int) -> bool:
    """Whether an update over a base of ``base_rows`` passages may write a delta."""
    return base_rows >= DELTA_MIN_BASE_PASSAGES


def delta_fits(base_rows: int, delta_rows: int, removed_rows: int) -> bool:
    """Whether an update may write a delta of this size over a base of ``base_rows``."""
    return delta_possible(base_rows) and delta_rows + removed_rows <= MAX_DELTA_SHARE * base_rows


def link_base(version_dir: Path, staging: Path) -> None:
    """Give ``staging`` the base files of ``version_dir`` by hard link (copies where the
    file system has none); its manifest and delta are the new version's own."""
    for root, dirs, files in os.walk(version_dir):
        here = Path(root)
        relative = here.relative_to(version_dir)
        if relative == Path("."):
            dirs[:] = [d for d in dirs if d != DELTA_DIR]
            files = [f for f in files if f != MANIFEST]
        (staging / relative).mkdir(exist_ok=True)
        for name in files:
            source, target = here / name, staging / relative / name
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def tombstones(
    version_dir: Path,
    base_rows: int,
    rows: np.ndarray,
    articles: frozenset[str],
    sources: frozenset[str],
) -> Tombstones:
    """The tombstones of ``rows`` of ``version_dir``'s base, with the document frequency
    they held per token (read from the base's token counts, only those rows' pages)."""
    arrays = term_arrays(version_dir)
    ids = np.zeros(0, dtype=np.int64)
    if arrays is not None and len(rows):
        indptr, stored, _ = arrays
        starts, ends = np.asarray(indptr[rows]), np.asarray(indptr[rows + 1])
        ids = np.concatenate([np.asarray(stored[a:b]) for a, b in zip(starts, ends, strict=True)])
    # a token counts once per passage: rows hold each of their token ids once
    df_ids, df_counts = np.unique(ids, return_counts=True)
    return Tombstones(base_rows, rows, articles, sources, df_ids, df_counts)
