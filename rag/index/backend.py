"""Storage backends behind one small interface: what search reads, what a build writes.

``local`` (the default) is FAISS + bm25s files + SQLite in each version directory
(``rag.index.local``). ``milvus`` keeps the same directory, manifest
and SQLite metadata, and puts the dense and BM25 sparse vectors with the filter fields
in a Milvus collection (``rag.index.milvus``, imported only for such an index, so a
local index never imports pymilvus). The manifest of each version records its backend:
a reader finds the right one from the index directory alone. Backends are found by
name in ``BACKENDS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.checksums import FULL
from rag.config import LOCAL, MILVUS, Settings
from rag.errors import IndexCorruptError
from rag.index.protocol import MILVUS_STORES, SearchIndex, backend_of
from rag.index.sparse import TermCounts
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.progress import Progress
from rag.records import Article, Chunk, SourceFile


@dataclass(frozen=True)
class StorageBackend:
    """Where a backend's reader, writer and garbage collector live ("module:name"),
    imported only when an index of that backend is opened or written."""

    reader: str  # a callable: index directory -> SearchIndex (the live version)
    writer: str  # a callable with write_index_version's signature
    # A callable dropping what crashed or removed versions left outside the index
    # directory, run when the file ``leftovers`` names exists in it.
    collector: str = ""
    leftovers: str = ""


# A new backend is one subpackage and one entry here (and its name in rag.config.BACKENDS).
BACKENDS: Mapping[str, StorageBackend] = {
    LOCAL: StorageBackend(
        reader="rag.index.local.reader:IndexReader",
        writer="rag.index.local.write:write_version",
    ),
    MILVUS: StorageBackend(
        reader="rag.index.milvus.reader:MilvusIndexReader",
        writer="rag.index.milvus.write:write_milvus_version",
        collector="rag.index.milvus.write:drop_orphan_collections",
        leftovers=MILVUS_STORES,
    ),
}


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def open_index(index_dir: Path, check: str = FULL) -> SearchIndex:
    """The live version of ``index_dir``, opened with the backend its manifest records,
    its files checked against their checksums first (``check``: full, quick or off)."""
    for attempt in range(3):
        version = current_version_dir(index_dir)
        backend = BACKENDS[backend_of(IndexManifest.from_file(version / MANIFEST))]
        try:
            reader: SearchIndex = _load(backend.reader)(index_dir, check=check)
            return reader
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
    written: tuple[Path, IndexManifest] = _load(BACKENDS[settings.backend].writer)(
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
    return written


def collect_backend_garbage(index_dir: Path) -> None:
    """Drop what removed or crashed versions left outside the index directory (writer lock
    held; call after ``store.collect_garbage``). Only Milvus keeps anything elsewhere: one
    collection per version, in the stores its leftovers file lists."""
    for backend in BACKENDS.values():
        if backend.collector and (Path(index_dir) / backend.leftovers).exists():
            _load(backend.collector)(Path(index_dir))
