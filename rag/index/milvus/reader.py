"""One published version of a Milvus-backed index opened for reading."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.checksums import FULL
from rag.errors import IndexCorruptError
from rag.index.dense import HNSW_EF_SEARCH, ivf_lists, ivf_probes
from rag.index.integrity import check_version
from rag.index.metadata import MetadataReads, MetadataStore, utc_key
from rag.index.milvus.client import (
    DENSE,
    MAX_LIMIT,
    ROW,
    SPARSE,
    connect,
    filter_expression,
    guarded,
)
from rag.index.milvus.terms import idf_weights, load_terms, query_vector
from rag.index.protocol import Ranking
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.records import SearchFilters


class MilvusIndexReader(MetadataReads):
    """The ``SearchIndex`` of a version whose vectors live in a Milvus collection.

    Metadata comes from the version's ``meta.sqlite``, rankings and vectors from the
    collection the manifest names; date and source filters run inside Milvus.
    """

    def __init__(self, index_dir: Path, check: str = FULL):
        self.index_dir = Path(index_dir)
        for attempt in range(3):
            try:
                self._open(check)
                break
            except IndexCorruptError:
                # a writer may have published and collected this version meanwhile
                if attempt == 2 or current_version_dir(self.index_dir) == self.version_dir:
                    raise

    def _open(self, check: str) -> None:
        self.version_dir = current_version_dir(self.index_dir)
        self.manifest = IndexManifest.from_file(self.version_dir / MANIFEST)
        check_version(self.version_dir, self.manifest, check)
        self.uri = str(self.manifest.extra.get("milvus_uri", ""))
        self.collection = str(self.manifest.extra.get("collection", ""))
        try:
            self.vocab, self.idf = load_terms(self.version_dir)
            self.meta = MetadataStore(self.version_dir / "meta.sqlite")
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise IndexCorruptError(
                f"index files in {self.version_dir} are damaged ({str(exc).splitlines()[0]}); "
                "rebuild with 'rag index build'"
            ) from None
        self.client = connect(self.uri)
        if not guarded(
            self.uri, "list collections", lambda: self.client.has_collection(self.collection)
        ):
            raise IndexCorruptError(
                f"{self.version_dir}: collection {self.collection} is missing from Milvus at "
                f"{self.uri}; rebuild with 'rag index build'"
            )
        guarded(
            self.uri, "load the collection", lambda: self.client.load_collection(self.collection)
        )

    @property
    def version(self) -> str:
        return self.version_dir.name

    @property
    def passages(self) -> int:
        return self.manifest.passages

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
        limit = min(depth, MAX_LIMIT)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.manifest.index_kind == "ivf":
            params["params"] = {"nprobe": ivf_probes(ivf_lists(max(self.passages, 1)))}
        elif self.manifest.index_kind == "hnsw":
            params["params"] = {"ef": max(HNSW_EF_SEARCH, limit)}
        return self._search(
            [qvec.astype(np.float32).tolist()], DENSE, limit, params, allowed, filters
        )

    def term_weights(self, query: str) -> dict[str, float]:
        return idf_weights(query, self.manifest.tokenizer, self.vocab, self.idf)

    def rank_keyword(
        self,
        query: str,
        depth: int,
        allowed: list[int] | None,
        filters: SearchFilters | None = None,
    ) -> Ranking:
        weights = query_vector(query, self.manifest.tokenizer, self.vocab, self.idf)
        if not weights:
            return []
        params = {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}}
        found = self._search([weights], SPARSE, min(depth, MAX_LIMIT), params, allowed, filters)
        return [(row, score) for row, score in found if score > 0]

    def _search(
        self,
        data: list[Any],
        field: str,
        limit: int,
        params: dict[str, Any],
        allowed: list[int] | None,
        filters: SearchFilters | None,
    ) -> Ranking:
        if limit <= 0 or (allowed is not None and not allowed):
            return []
        expression = filter_expression(filters, allowed)
        result = guarded(
            self.uri,
            "search",
            lambda: self.client.search(
                self.collection,
                data,
                anns_field=field,
                limit=limit,
                filter=expression,
                output_fields=[ROW],
                search_params=params,
            ),
        )
        ranked = [(int(hit[ROW]), float(hit["distance"])) for hit in result[0]]
        # the order of equal scores is the local backend's: the lower row first
        return sorted(ranked, key=lambda item: (-item[1], item[0]))

    def cosines(self, qvec: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float32)
        found = guarded(
            self.uri,
            "read vectors",
            lambda: self.client.get(self.collection, ids=list(rows), output_fields=[DENSE]),
        )
        by_row = {int(item[ROW]): item[DENSE] for item in found}
        missing = [r for r in rows if r not in by_row]
        if missing:
            raise IndexCorruptError(
                f"collection {self.collection} has no passage row {missing[0]}; rebuild the index"
            )
        vectors = np.asarray([by_row[r] for r in rows], dtype=np.float32)
        return vectors @ qvec.astype(np.float32)

    def close(self) -> None:
        # the client is shared by every reader of this URI in the process
        self.meta.close()
