"""An embedding backend shared by the threads of one process (a server, an archive)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.embed.base import EmbeddingBackend, Kind

QUERY_CACHE_SIZE = 1024


class SharedBackend:
    """Runs one batch at a time and remembers the vectors of recent questions.

    The bundled e5 engines are C libraries that use every core: concurrent calls from
    many request threads would oversubscribe the cores and race on the lazy model load,
    so calls queue instead. A question asked again (another mode, another page of a
    server, the evaluation's several searches per question) is not embedded again.
    """

    def __init__(self, inner: EmbeddingBackend, cache_size: int = QUERY_CACHE_SIZE) -> None:
        self.name = inner.name
        self.dim = inner.dim
        self.inner = inner
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query" and len(texts) == 1 and self._cache_size > 0:
            with self._lock:
                cached = self._queries.get(texts[0])
                if cached is None:
                    cached = np.asarray(self.inner.encode_batch(texts, kind), dtype=np.float32)
                    self._queries[texts[0]] = cached
                    if len(self._queries) > self._cache_size:
                        self._queries.popitem(last=False)
                else:
                    self._queries.move_to_end(texts[0])
                return cached.copy()
        with self._lock:
            return self.inner.encode_batch(texts, kind)
