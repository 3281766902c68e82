"""The live index for a long-running server: one shared reader, swapped when CURRENT moves."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embed import Embedder, get_embedder
from rag.embed.base import EmbeddingBackend, Kind
from rag.index.store import CURRENT
from rag.retrieve import IndexReader


class SerializedBackend:
    """An embedding backend that runs one batch at a time.

    The bundled e5 engine is a C library parallelised with OpenMP: concurrent calls
    from many request threads would oversubscribe the cores and race on its lazy
    model load, so requests queue for it instead.
    """

    def __init__(self, inner: EmbeddingBackend) -> None:
        self.name = inner.name
        self.dim = inner.dim
        self._inner = inner
        self._lock = threading.Lock()

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        with self._lock:
            return self._inner.encode_batch(texts, kind)


class ReaderHolder:
    """Hands out the reader of the live index version.

    ``get()`` compares CURRENT's stat with the last one seen (a few microseconds) and
    loads the new version once when it changed. A caller keeps the reader it got for
    the whole request, so it sees one version from start to end; the old reader stays
    usable until the last request holding it lets go.
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self._reader: IndexReader | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_dir / CURRENT)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def get(self) -> IndexReader:
        """The reader of the live version (raises ``RagError`` when there is none)."""
        stamp = self._pointer_stamp()
        reader = self._reader
        if reader is not None and stamp is not None and stamp == self._stamp:
            return reader
        with self._lock:
            if self._reader is not None and stamp is not None and stamp == self._stamp:
                return self._reader
            reader = self._load()
            # The stamp is taken before loading: if CURRENT moved meanwhile, the next
            # request sees a mismatch and loads again rather than keeping a stale reader.
            self._reader, self._stamp = reader, stamp
            return reader

    def _load(self) -> IndexReader:
        current = self._reader
        reader = IndexReader(self.index_dir, embedder=self._shared_embedder(current))
        if current is not None and reader.version_dir == current.version_dir:
            return current  # CURRENT rewritten with the same name: keep the warm reader
        if reader.embedder.name != reader.manifest.embedder:
            spec = reader.manifest.embedder
            embedder = self._embedders.get(spec)
            if embedder is None:
                embedder = Embedder(SerializedBackend(get_embedder(spec).backend))
                self._embedders[spec] = embedder
            reader = IndexReader(self.index_dir, embedder=embedder)
        return reader

    def _shared_embedder(self, current: IndexReader | None) -> Embedder:
        if current is not None:
            return current.embedder
        if not self._embedders:
            spec = "e5-small"
            self._embedders[spec] = Embedder(SerializedBackend(get_embedder(spec).backend))
        return next(iter(self._embedders.values()))
