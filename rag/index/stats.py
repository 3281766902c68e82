"""Facts about an index for ``rag index stats``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rag.index.metadata import MetadataStore
from rag.index.store import MANIFEST, IndexManifest, current_version_dir


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def index_stats(index_dir: Path) -> dict[str, Any]:
    version = current_version_dir(index_dir)
    manifest = IndexManifest.from_file(version / MANIFEST)
    meta = MetadataStore(version / "meta.sqlite")
    try:
        sources = meta.source_names()
    finally:
        meta.close()
    cache = index_dir / "cache"
    return {
        "index": str(index_dir),
        "version": version.name,
        "format_version": manifest.format_version,
        "built_at": manifest.built_at,
        "embedder": manifest.embedder,
        "dim": manifest.dim,
        "index_kind": manifest.index_kind,
        "tokenizer": manifest.tokenizer,
        "chunk_size": manifest.chunk_size,
        "chunk_overlap": manifest.chunk_overlap,
        "articles": manifest.articles,
        "passages": manifest.passages,
        "source_files": manifest.sources,
        "sources": sources,
        "bytes_index": _size(version),
        "bytes_cache": _size(cache) if cache.exists() else 0,
        "source_roots": list(manifest.source_roots),
    }
