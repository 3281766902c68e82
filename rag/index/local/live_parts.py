"""What an update takes from the live version instead of recomputing it.

(The MinHash signatures of the source texts are taken too: the duplicate check of an
update hashes only the new texts' shingles.)

An article whose id, title and text are unchanged has the same passages, the same
passage vectors and the same token counts as before: an update copies them from the
live version's files (rows gathered with numpy) instead of chunking, looking up the
embedding cache and tokenising again. Only corpus-wide figures (BM25 idf and average
length, the FAISS index itself) are recomputed, from those arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index.dense import load_dense, stored_vectors
from rag.index.local.segment_reads import open_metadata
from rag.index.local.segments import delta_dir
from rag.index.sparse import KEYWORD_FIELDS, TermCounts
from rag.index.store import MANIFEST, IndexManifest
from rag.records import Article, Chunk


@dataclass(frozen=True)
class LiveVersionParts:
    """The live version's passages by article, and its stored vectors and token counts."""

    version_dir: Path
    embedder: str
    dim: int
    texts: dict[str, tuple[str, str]]
    passages: dict[str, list[tuple[int, Chunk]]]
    terms: TermCounts
    signatures: dict[str, bytes]

    @classmethod
    def open(cls, version_dir: Path) -> LiveVersionParts | None:
        """The version's reusable parts, or None when it was written without token counts
        or with other keyword fields (before titles were indexed): the update then
        recomputes everything once, its vectors coming from the embedding cache."""
        terms = TermCounts.load(version_dir)
        if terms is None:
            return None
        manifest = IndexManifest.from_file(version_dir / MANIFEST)
        if manifest.extra.get("keyword_fields") != KEYWORD_FIELDS:
            return None
        delta = delta_dir(version_dir)
        if delta is not None:
            # base rows first, then the delta's (the readers' row numbering)
            fresh = TermCounts.load(delta)
            terms = terms if fresh is None else terms.concatenated(fresh)
        store = open_metadata(version_dir)
        try:
            texts, passages = store.passage_layout()
            signatures = store.signatures()
        finally:
            store.close()
        return cls(version_dir, manifest.embedder, manifest.dim, texts, passages, terms, signatures)

    def passages_of(self, article: Article) -> list[tuple[int, Chunk]] | None:
        """The rows and passages of ``article`` when the version holds it unchanged."""
        if self.texts.get(article.id) != (article.title, article.text):
            return None
        return self.passages.get(article.id)

    def vectors(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored passage vectors of ``rows``, in that order."""
        base = load_dense(self.version_dir)
        delta = delta_dir(self.version_dir)
        if delta is None:
            return stored_vectors(base, rows)
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        in_base = rows < base.ntotal
        out[in_base] = stored_vectors(base, rows[in_base])
        out[~in_base] = stored_vectors(load_dense(delta), rows[~in_base] - base.ntotal)
        return out
