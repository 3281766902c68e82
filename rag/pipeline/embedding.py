"""Stage 4 of a build: passage vectors, embedding only the texts the cache does not hold."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embed import Embedder
from rag.index.embed_cache import EmbeddingCache, text_key
from rag.progress import Progress

# Vectors are committed to the cache every this many texts: a killed run keeps its work.
COMMIT_EVERY = 256


def embed_with_cache(
    cache_dir: Path, embedder: Embedder, texts: Sequence[str], progress: Progress
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``; only texts the cache lacks are embedded. Returns (vectors, n_new)."""
    cache = EmbeddingCache(cache_dir / "embeddings.sqlite", embedder.name, embedder.dim)
    try:
        keys = [text_key(t) for t in texts]
        known = cache.get_many(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            first_text = {k: t for k, t in zip(keys, texts, strict=True)}
            progress.start("embedding passages", len(missing))
            for start in range(0, len(missing), COMMIT_EVERY):
                part = missing[start : start + COMMIT_EVERY]
                new = embedder.embed_passages([first_text[k] for k in part], progress.advance)
                cache.put_many(part, new)
                known.update(zip(part, new, strict=True))
        vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            vectors[i] = known[key]
        return vectors, len(missing)
    finally:
        cache.close()
