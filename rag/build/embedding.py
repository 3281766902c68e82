"""Stage 4 of a build: passage vectors, embedding only the texts the cache does not hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from rag.embed import Embedder
from rag.embed.cache import EmbeddingCache, text_key
from rag.progress import Progress

# Vectors are committed to the cache every this many texts: a killed run keeps its work.
COMMIT_EVERY = 256

# Embeds the parts it is given (lists of texts), reporting on ``progress`` (a stage of
# as many steps as texts), and yields (part number, vectors) for each part in any order.
# The int8 e5 engine quantises activations per batch, so a part must be embedded as it is
# (the embedder's own batches, nothing merged or split) for every encoder to give the
# same vectors.
PartEncoder = Callable[[list[list[str]], Progress], Iterator[tuple[int, np.ndarray]]]


def local_part_encoder(embedder: Embedder) -> PartEncoder:
    """Embed the parts one after another in this process."""

    def encode(parts: list[list[str]], progress: Progress) -> Iterator[tuple[int, np.ndarray]]:
        progress.start("embedding passages", sum(len(p) for p in parts))
        for number, part in enumerate(parts):
            yield number, embedder.embed_passages(part, progress.advance)

    return encode


def embed_with_cache(
    cache_dir: Path,
    embedder: Embedder,
    texts: Sequence[str],
    progress: Progress,
    encode_parts: PartEncoder | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``; only texts the cache lacks are embedded. Returns (vectors, n_new).

    ``encode_parts`` embeds the missing texts (default: ``embedder``, here); each part's
    vectors are committed to the cache as soon as they arrive.
    """
    cache_path = cache_dir / "embeddings.sqlite"
    cache = EmbeddingCache(cache_path, embedder.fingerprint, embedder.dim)
    try:
        keys = [text_key(t) for t in texts]
        first_text = {k: t for k, t in zip(keys, texts, strict=True)}
        known = cache.get_many(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing and encode_parts is None:
            job = embedder.for_job([first_text[k] for k in missing])
            if job is not embedder:  # another engine for this job: its own cache rows
                cache.close()
                cache = EmbeddingCache(cache_path, job.fingerprint, job.dim)
                known.update(cache.get_many(missing))
                missing = [k for k in missing if k not in known]
                embedder = job
        if missing:
            parts = [missing[s : s + COMMIT_EVERY] for s in range(0, len(missing), COMMIT_EVERY)]
            encode = encode_parts or local_part_encoder(embedder)
            done: set[int] = set()
            for number, new in encode([[first_text[k] for k in p] for p in parts], progress):
                if new.shape != (len(parts[number]), embedder.dim):
                    raise RuntimeError(
                        f"part {number} came back with shape {new.shape}, "
                        f"expected {(len(parts[number]), embedder.dim)}"
                    )
                cache.put_many(parts[number], new)
                known.update(zip(parts[number], new, strict=True))
                done.add(number)
            if len(done) != len(parts):
                raise RuntimeError(
                    f"{len(parts) - len(done)} of {len(parts)} parts never came back"
                )
        vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            vectors[i] = known[key]
        return vectors, len(missing)
    finally:
        cache.close()
