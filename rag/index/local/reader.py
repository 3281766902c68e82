"""One published index version opened for reading: vectors, keyword index and metadata."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.checksums import FULL
from rag.errors import IndexCorruptError
from rag.index.dense import cosine_for_rows, load_dense, search_dense
from rag.index.integrity import check_version
from rag.index.local.segment_reads import (
    SegmentedDense,
    SegmentedKeyword,
    Split,
    open_metadata,
)
from rag.index.local.segments import Tombstones, base_passages, delta_dir
from rag.index.metadata import MetadataReader, MetadataReads, utc_key
from rag.index.sparse import KeywordIndex
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.records import SearchFilters

Ranking = list[tuple[int, float]]


class IndexReader(MetadataReads):
    """One loaded index version. Thread-safe for reading; never sees a later version.

    ``mmap`` (the default) maps the ivf lists and the BM25 matrix instead of copying them
    into this process: opening is fast and the pages are shared with other readers.
    Versions are never modified once published, so a mapping stays valid.
    """

    def __init__(self, index_dir: Path, mmap: bool = True, check: str = FULL):
        self.index_dir = Path(index_dir)
        for attempt in range(3):
            try:
                self._open(mmap, check)
                break
            except IndexCorruptError:
                # A writer may have published a newer version and removed this one between
                # resolving CURRENT and opening its files: resolve again before giving up.
                if attempt == 2 or current_version_dir(self.index_dir) == self.version_dir:
                    raise

    def _open(self, mmap: bool, check: str) -> None:
        self.version_dir = current_version_dir(self.index_dir)
        self.manifest = IndexManifest.from_file(self.version_dir / MANIFEST)
        check_version(self.version_dir, self.manifest, check)
        delta = delta_dir(self.version_dir)
        base_rows = base_passages(self.manifest)
        try:
            self.dense: Any = load_dense(self.version_dir, mmap=mmap)
            self.keyword: Any = KeywordIndex.load(
                self.version_dir, self.manifest.tokenizer, base_rows, mmap=mmap
            )
            self.segments: SegmentedDense | None = None
            if delta is not None:
                removed = Tombstones.load(delta)
                delta_manifest = IndexManifest.from_file(delta / MANIFEST)
                fresh = load_dense(delta)
                if fresh.ntotal != delta_manifest.passages:
                    raise ValueError(
                        f"the delta holds {fresh.ntotal} vectors for "
                        f"{delta_manifest.passages} passages"
                    )
                self.segments = SegmentedDense(self.dense, fresh, Split(removed, fresh.ntotal))
                self.keyword = SegmentedKeyword(
                    self.keyword,
                    KeywordIndex.load(delta, delta_manifest.tokenizer, delta_manifest.passages),
                    removed,
                )
        # EOFError: numpy's word for a 0-byte .npy
        except (RuntimeError, OSError, ValueError, KeyError, EOFError) as exc:
            raise IndexCorruptError(
                f"index files in {self.version_dir} are damaged ({str(exc).splitlines()[0]}); "
                "rebuild with 'rag index build'"
            ) from None
        try:
            self.meta: MetadataReader = open_metadata(self.version_dir)
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(
                f"cannot open {self.version_dir / 'meta.sqlite'} ({exc}); rebuild the index"
            ) from None
        # a delta's metadata rows against its vectors (a whole version's rows are not
        # counted: that would cost every cold question a scan of the chunks table)
        delta_rows = self.meta.passage_count() if self.segments is not None else self.passages
        if (
            self.dense.ntotal != base_rows
            or not self.passages == delta_rows == self.manifest.passages
        ):
            raise IndexCorruptError(
                f"{self.version_dir}: {self.passages} passages stored but the manifest says "
                f"{self.manifest.passages}; rebuild the index"
            )

    @property
    def version(self) -> str:
        return self.version_dir.name

    @property
    def passages(self) -> int:
        if self.segments is not None:
            return self.segments.split.live
        return int(self.dense.ntotal)

    def rows_matching(self, filters: SearchFilters) -> list[int]:
        """Rows of the passages whose article passes ``filters``."""
        return self.meta.rows_matching(
            utc_key(filters.since), utc_key(filters.until), filters.source
        )

    def rank_dense(
        self,
        qvec: np.ndarray,
        depth: int,
        allowed: list[int] | None,
        filters: SearchFilters | None = None,
    ) -> Ranking:
        """Rows nearest ``qvec`` among ``allowed`` (``filters`` are already in ``allowed``)."""
        if self.segments is not None:
            return self.segments.rank(qvec, depth, allowed)
        scores, rows = search_dense(self.dense, qvec, depth, allowed)
        return list(zip(rows.tolist(), scores.tolist(), strict=True))

    def rank_keyword(
        self,
        query: str,
        depth: int,
        allowed: list[int] | None,
        filters: SearchFilters | None = None,
    ) -> Ranking:
        """Rows by BM25 score among ``allowed`` (``filters`` are already in ``allowed``)."""
        scores, rows = self.keyword.search(query, depth, allowed)
        return list(zip(rows.tolist(), scores.tolist(), strict=True))

    def term_weights(self, query: str) -> dict[str, float]:
        """The keyword side's idf of each query term (see ``KeywordIndex.term_weights``)."""
        return self.keyword.term_weights(query)

    def cosines(self, qvec: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        if self.segments is not None:
            return self.segments.cosines(qvec, rows)
        return cosine_for_rows(self.dense, qvec, rows)

    def close(self) -> None:
        self.meta.close()
