"""multilingual-e5-small through OpenVINO: the encoder graph compiled for the CPU.

OpenVINO reads the float32 graph that :mod:`rag.embed.e5_onnx` writes with attention in
standard ops (``fused_attention=False``: OpenVINO fuses Q, K, V, softmax and the context
into its own MHA kernel; the com.microsoft ``Attention`` op onnxruntime uses came in with
a reference-code split, reorders and transposes around it: 4-15% slower) and
compiles it with ``inference_precision = bf16``: on CPUs with AVX512_BF16 or AMX the
matmuls run in bfloat16 with float32 accumulation, elsewhere OpenVINO keeps float32.
Tokenisation, windowing, bucketing and pooling are :class:`rag.embed.e5_numpy.NumpyE5`'s;
buckets run on ``workers`` OpenVINO streams at once (one infer request per worker
thread), which keeps both cores of a small machine busy without a thread team waiting
at barriers.

``precision = "int8"`` (the default passage engine, ``e5_engine = "openvino-int8"``)
runs the same graph with int8 matmuls (AVX-512 VNNI / AVX-VNNI, AMX where present):
NNCF's post-training quantisation for transformers (SmoothQuant, per-channel weights,
the statistics of ``rag/data/e5_calibration.txt``: 240 news passages that ship with the
package, so every machine makes the same model). It is made once per machine (30-60 s on two cores,
said on stderr) and kept as OpenVINO IR under ``<onnx cache>/openvino-int8``; NNCF is
imported only then. Measured side by side on an idle 2-core Zen 5: 1.45x bf16, cosine
to bf16 min 0.9966 / mean 0.9993 (README, "Passage engines").

The compiled model is cached by OpenVINO under ``<onnx cache>/openvino`` so that a
second process starts without recompiling.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.checksums import (
    FULL,
    check_digests,
    folder_intact,
    read_checksums_file,
    write_checksums_file,
)
from rag.embed.e5_numpy import NumpyE5, _default_workers
from rag.embed.e5_onnx import GRAPH_VERSION, default_onnx_cache_dir, graph_inputs, model_file
from rag.embed.e5_weights import E5Weights, _file_key, model_path
from rag.embed.model_files import files_intact, record

PRECISIONS = ("bf16", "f32", "int8")
IR_FILES = ("model.xml", "model.bin")
# Buckets are padded to a multiple of 16 tokens: OpenVINO compiles kernels per input
# shape and caches them, so a few dozen lengths instead of hundreds keeps a build on
# compiled kernels, and 16-aligned rows suit its int8 matmuls (+24% on shapes not yet
# compiled, +7% on compiled ones, news passages; the padding is masked)
PAD_MULTIPLE = 16


def _drop_damaged_blobs(folder: Path) -> None:
    """Remove compiled blobs that differ from their recorded checksum: OpenVINO compiles
    the model again instead of loading a damaged one."""
    recorded = read_checksums_file(folder) if folder.is_dir() else None
    for problem in check_digests(folder, recorded or {}, FULL):
        print(
            f"rag: compiled model {folder / problem.path} is damaged ({problem.problem}); "
            "compiling it again",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(OSError):
            (folder / problem.path).unlink()


def int8_model_dir(onnx_cache_dir: Path, weights_path: Path | None = None) -> Path:
    """Where the int8 model of these weights (default: the bundled ones) is kept: named by
    the float graph's cache folder (weights and graph version: no need to read the ~90 MB
    graph to tell one from another) and the calibration text."""
    folder = f"{_file_key(weights_path or model_path())}-g{GRAPH_VERSION}"
    graph = f"{folder}/e5-standard-f32.onnx"
    key = hashlib.sha256("\n".join([graph, *_calibration_texts()]).encode()).hexdigest()[:16]
    return onnx_cache_dir / "openvino-int8" / f"e5-int8-{key}"


def _calibration_texts() -> list[str]:
    text = resources.files("rag").joinpath("data/e5_calibration.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


@contextlib.contextmanager
def _quiet_nncf() -> Iterator[None]:
    """NNCF's notes, warnings and progress bars ("Statistics collection", "Applying Smooth
    Quant", ...) silenced: they would land between the tool's own lines, and on stdout,
    where ``--json`` output goes. The tool says what happens instead."""
    log = logging.getLogger("nncf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with (
            open(os.devnull, "w") as sink,
            contextlib.redirect_stdout(sink),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


class OpenVinoE5(NumpyE5):
    """Same API and semantics as :class:`NumpyE5`, encoder compiled by OpenVINO.

    precision: ``"bf16"`` (default; float32 where the CPU lacks bf16), ``"f32"``, or
    ``"int8"`` (quantised once with NNCF, float parts in bf16).
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
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: use one of {', '.join(PRECISIONS)}")
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
        self.model_path = model_file(
            self.weights, quantized=False, cache_dir=self._onnx_cache_dir, fused_attention=False
        )
        base = Path(self._onnx_cache_dir) if self._onnx_cache_dir else default_onnx_cache_dir()
        core = ov.Core()
        config = {
            "PERFORMANCE_HINT": "THROUGHPUT",
            "NUM_STREAMS": str(self.workers),
            # int8 models keep their float parts (softmax, layer norm) in bf16
            "INFERENCE_PRECISION_HINT": "bf16" if self.precision == "int8" else self.precision,
            "CACHE_DIR": str(base / "openvino"),
        }
        model = str(self.model_path)
        if self.precision == "int8":
            model = str(self._int8_model(core, base / "openvino-int8", config))
        blobs = base / "openvino"
        _drop_damaged_blobs(blobs)
        self.compiled = core.compile_model(model, "CPU", config)
        if blobs.is_dir():
            record(blobs, [p.name for p in blobs.glob("*.blob")])
        self.runtime_precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self._requests = threading.local()
        self._warm_up()

    def _warm_up(self) -> None:
        """One call on this thread before the pool's threads race: pybind11 initialises its
        numpy API once, under a lock that deadlocks when two threads reach it first
        together (both stuck in tensor.data, seen in the test suite, and in the int8
        model's calibration run)."""
        self._forward([[self.tokenizer.bos, self.tokenizer.eos]])

    def _int8_model(self, core: Any, folder: Path, config: dict[str, str]) -> Path:
        """The quantised IR for this graph and calibration text, made on first use.

        Made under a file lock (two first builds at once make it once) into a temporary
        folder renamed into place, so a killed run never leaves half a model."""
        calibration = _calibration_texts()
        target = int8_model_dir(folder.parent, self.weights.path)
        xml = target / "model.xml"
        if xml.is_file() and files_intact(target, IR_FILES):
            return xml
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if xml.is_file() and folder_intact(target):  # made by another process meanwhile
                return xml
            print(
                "rag: preparing the int8 passage engine (once per machine, 30-60 s "
                "on two cores)...",
                file=sys.stderr,
                flush=True,
            )
            started = time.monotonic()
            try:
                quantized = self._quantize(core, config, calibration)
            except ImportError:
                raise
            except Exception as exc:  # NNCF's own errors derive from Exception
                raise RuntimeError(
                    f"quantising the graph to int8 failed ({type(exc).__name__}: {exc})"
                ) from None
            import openvino as ov

            staging = Path(tempfile.mkdtemp(prefix="tmp-", dir=folder))
            staging.chmod(0o755)  # a model cache other users may read
            try:
                ov.save_model(quantized, str(staging / "model.xml"), compress_to_fp16=False)
                write_checksums_file(staging, IR_FILES)
                shutil.rmtree(target, ignore_errors=True)
                os.rename(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            print(
                f"rag: int8 passage engine ready in {time.monotonic() - started:.0f} s, kept "
                f"in {target}",
                file=sys.stderr,
                flush=True,
            )
        return xml

    def _quantize(self, core: Any, config: dict[str, str], calibration: list[str]) -> Any:
        """NNCF post-training quantisation of the float graph on the calibration texts'
        actual engine inputs (the same buckets, padding and embeddings as production)."""
        # NNCF reports usage to Google Analytics unless it believes it runs in CI; a local
        # tool sends nothing anywhere (and machines here have no internet)
        os.environ.setdefault("NNCF_CI", "1")
        import nncf
        import openvino as ov

        self.compiled = core.compile_model(str(self.model_path), "CPU", config)
        self._requests = threading.local()
        self._warm_up()
        inputs: list[dict[str, np.ndarray]] = []

        def record(seqs: list[list[int]]) -> np.ndarray:
            emb, mask = graph_inputs(self, seqs, PAD_MULTIPLE)
            inputs.append({"emb": emb, "mask": mask})
            return self._infer(emb, mask)

        self._forward = record  # type: ignore[method-assign]
        try:
            self.encode(calibration, False)
        finally:
            del self._forward
        # buckets ran on several threads: a fixed order, so that statistics summed over
        # the batches (bias correction's means) come out bit for bit the same everywhere
        inputs.sort(key=lambda x: (x["emb"].shape, hashlib.sha256(x["emb"].tobytes()).digest()))
        with tempfile.TemporaryDirectory() as tmp:
            # a round trip through IR drops the ONNX import's dangling nodes, which NNCF
            # cannot place in its graph
            plain = Path(tmp) / "f32.xml"
            ov.save_model(core.read_model(str(self.model_path)), str(plain), False)
            with _quiet_nncf():
                return nncf.quantize(
                    core.read_model(str(plain)),
                    nncf.Dataset(inputs),
                    model_type=nncf.ModelType.TRANSFORMER,
                    subset_size=len(inputs),
                )

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        return self._infer(*graph_inputs(self, seqs, PAD_MULTIPLE))

    def _infer(self, emb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled vectors of one bucket's graph inputs, on this thread's request."""
        request: Any = getattr(self._requests, "request", None)
        if request is None:  # an infer request serves one call at a time: one per thread
            request = self._requests.request = self.compiled.create_infer_request()
        result = request.infer({"emb": emb, "mask": mask})
        return np.asarray(result[self.compiled.output(0)], dtype=np.float64)
