"""Storage backends behind one small interface: what search reads, what a build writes.

``local`` (the default) is FAISS + bm25s files + SQLite in each version directory
(``rag.index.local``). ``milvus`` keeps the same directory, manifest
and SQLite metadata, and puts the dense and BM25 sparse vectors with the filter fields
in a Milvus collection (``rag.index.milvus``, imported only for such an index, so a
local index never imports pymilvus). The manifest of each version records its backend:
a reader finds the right one from the index directory alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rag.config import MILVUS, Settings
from rag.errors import IndexCorruptError
from rag.index.protocol import MILVUS_STORES, SearchIndex, backend_of
from rag.index.sparse import TermCounts
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.progress import Progress
from rag.records import Article, Chunk, SourceFile


def open_index(index_dir: Path) -> SearchIndex:
    """The live version of ``index_dir``, opened with the backend its manifest records."""
    for attempt in range(3):
        version = current_version_dir(index_dir)
        backend = backend_of(IndexManifest.from_file(version / MANIFEST))
        try:
            if backend == MILVUS:
                from rag.index.milvus.reader import MilvusIndexReader

                return MilvusIndexReader(index_dir)
            from rag.index.local.reader import IndexReader

            return IndexReader(index_dir)
        except IndexCorruptError:
            # a rebuild on the other backend published meanwhile: open that one
            if attempt == 2 or current_version_dir(index_dir) == version:
                raise
    raise AssertionError("unreachable")


def write_index_version(
    index_dir: Path,
    settings: Settings,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    *,
    embedder: str,
    sources: Sequence[SourceFile] = (),
    source_roots: Sequence[str] = (),
    progress: Progress | None = None,
    terms: TermCounts | None = None,
    signatures: Mapping[str, bytes] | None = None,
    base: Path | None = None,
) -> tuple[Path, IndexManifest]:
    """Publish a new version with ``settings.backend``: row i is ``chunks[i]``/``vectors[i]``.

    Same promise for every backend: the caller holds the writer lock, and a failure at
    any point leaves the live version as it was. ``terms``, ``signatures`` and ``base``
    (what an update reuses from the live version) are used by the local backend; Milvus
    computes its keyword weights itself.
    """
    if settings.backend == MILVUS:
        from rag.index.milvus.write import write_milvus_version

        return write_milvus_version(
            index_dir,
            settings,
            articles,
            chunks,
            vectors,
            embedder=embedder,
            sources=sources,
            source_roots=source_roots,
            progress=progress,
        )
    from rag.index.local.write import write_version

    return write_version(
        index_dir,
        settings,
        articles,
        chunks,
        vectors,
        embedder=embedder,
        sources=sources,
        source_roots=source_roots,
        progress=progress,
        terms=terms,
        signatures=signatures,
        base=base,
    )


def collect_backend_garbage(index_dir: Path) -> None:
    """Drop what removed or crashed versions left outside the index directory (writer lock
    held; call after ``store.collect_garbage``). Only Milvus keeps anything elsewhere: one
    collection per version, in the stores ``MILVUS_STORES`` lists."""
    if (Path(index_dir) / MILVUS_STORES).exists():
        from rag.index.milvus.write import drop_orphan_collections

        drop_orphan_collections(Path(index_dir))
