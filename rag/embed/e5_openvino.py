"""multilingual-e5-small through OpenVINO: the ONNX engine's graph, compiled for the CPU.

OpenVINO reads the float32 graph that :mod:`rag.embed.e5_onnx` writes (com.microsoft
``Attention`` / ``SkipLayerNormalization`` / ``BiasGelu`` included) and compiles it with
``inference_precision = bf16``: on CPUs with AVX512_BF16 or AMX the matmuls run in
bfloat16 with float32 accumulation, elsewhere OpenVINO keeps float32. Tokenisation,
windowing, bucketing and pooling are :class:`rag.embed.e5_numpy.NumpyE5`'s; buckets run
on ``workers`` OpenVINO streams at once (one infer request per worker thread), which
keeps both cores of a small machine busy without a thread team waiting at barriers.

The compiled model is cached by OpenVINO under ``<onnx cache>/openvino`` so that a
second process starts without recompiling.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.e5_numpy import NumpyE5, _default_workers
from rag.embed.e5_onnx import default_onnx_cache_dir, graph_inputs, model_file
from rag.embed.e5_weights import E5Weights


class OpenVinoE5(NumpyE5):
    """Same API and semantics as :class:`NumpyE5`, encoder compiled by OpenVINO.

    precision: ``"bf16"`` (default; float32 where the CPU lacks bf16) or ``"f32"``.
    workers: buckets run concurrently, one OpenVINO stream each (default: usable CPUs).
    onnx_cache_dir: where the ONNX graph and OpenVINO's compiled blobs are cached.
    """

    def __init__(
        self,
        weights: E5Weights | None = None,
        *,
        precision: str = "bf16",
        cache_dir: str | os.PathLike | None = None,
        onnx_cache_dir: str | os.PathLike | None = None,
        workers: int | None = None,
        batch_tokens: int = 2048,
    ) -> None:
        if precision not in ("bf16", "f32"):
            raise ValueError(f"precision {precision!r}: use 'bf16' or 'f32'")
        self.precision = precision
        self._onnx_cache_dir = onnx_cache_dir
        super().__init__(
            weights,
            cache_dir=cache_dir,
            workers=workers or _default_workers(),
            batch_tokens=batch_tokens,
        )

    def _prepare(self) -> None:  # replaces NumpyE5's numpy weight layout
        import openvino as ov

        t = self.weights.tensors
        self.pos = np.asarray(t["emb.pos"], dtype=np.float32)
        self.type0 = np.asarray(t["emb.type"], dtype=np.float32)[0]
        self.model_path = model_file(self.weights, quantized=False, cache_dir=self._onnx_cache_dir)
        base = Path(self._onnx_cache_dir) if self._onnx_cache_dir else default_onnx_cache_dir()
        core = ov.Core()
        config = {
            "PERFORMANCE_HINT": "THROUGHPUT",
            "NUM_STREAMS": str(self.workers),
            "INFERENCE_PRECISION_HINT": self.precision,
            "CACHE_DIR": str(base / "openvino"),
        }
        self.compiled = core.compile_model(str(self.model_path), "CPU", config)
        self.runtime_precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self._requests = threading.local()
        # One call on this thread before the pool's threads race: pybind11 initialises its
        # numpy API once, under a lock that deadlocks when two threads reach it first
        # together (both stuck in tensor.data, seen in the test suite).
        self._forward([[self.tokenizer.bos, self.tokenizer.eos]])

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        emb, mask = graph_inputs(self, seqs)
        request: Any = getattr(self._requests, "request", None)
        if request is None:  # an infer request serves one call at a time: one per thread
            request = self._requests.request = self.compiled.create_infer_request()
        result = request.infer({"emb": emb, "mask": mask})
        return np.asarray(result[self.compiled.output(0)], dtype=np.float64)
