"""Stage 4 on Ray: the passages the cache lacks, embedded by a Ray Data job.

Imported only by a build with ``ray_address`` set, and ``ray`` itself only once there is
something to embed: a build without Ray, or an update with nothing new, never starts it.
The job sends the texts as a dataset of (part, row, text) rows, one block per cache part;
an actor per worker builds the embedder from an ``EmbedderSpec`` (the model is never
pickled) and embeds each part exactly as the local path would, so the vectors are the
same. Parts come back as they finish and go through the same cache code as local ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.build.embedding import PartEncoder
from rag.config import Settings
from rag.embed import Embedder, embedder_name, get_embedder
from rag.errors import ClusterError, ConfigError, MissingDependencyError
from rag.progress import Progress

INSTALL_HINT = "install the ray extra: pip install 'rag-news[ray]'"
# Each actor owns one CPU and runs its engine on one thread: on a machine of n cores, n
# one-thread engines embed more passages per second than one n-thread engine.
WORKER_CPUS = 1
# Seconds to wait for a TCP connection to a cluster's address before giving up; Ray's own
# wait for an unreachable head is 30 s (ray://) to several minutes (HOST:PORT).
CONNECT_TIMEOUT = 5.0
NOTHING_CHANGED = "; nothing was changed (the live index is as it was)"


@dataclass(frozen=True)
class EmbedderSpec:
    """What a Ray worker needs to build the build's embedder on its own node."""

    embedder: str
    batch_size: int
    engine: str
    threads: int
    # None: the node's own default cache (a path on the driver may not exist on a node)
    model_cache_dir: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbedderSpec:
        return cls(
            embedder=settings.embedder,
            batch_size=settings.embed_batch,
            engine=settings.e5_engine,
            threads=settings.e5_threads,
            model_cache_dir=(
                str(settings.model_cache_dir) if settings.was_set("model_cache_dir") else None
            ),
        )

    def build(self) -> Embedder:
        return get_embedder(
            self.embedder,
            self.batch_size,
            engine=self.engine,
            threads=self.threads,
            model_cache_dir=Path(self.model_cache_dir) if self.model_cache_dir else None,
            passage_threads=WORKER_CPUS,
        )


class PassageEncoder:
    """The Ray Data actor: one embedder, built once, embedding whole parts."""

    def __init__(self, spec: EmbedderSpec) -> None:
        self.embedder = spec.build()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        parts, rows, texts = batch["part"], batch["row"], batch["text"]
        vectors = np.empty((len(texts), self.embedder.dim), dtype=np.float32)
        # a batch is one block, one part; should Ray ever merge blocks, each part is
        # still embedded on its own, as the local path does
        for part in np.unique(parts):
            where = np.flatnonzero(parts == part)
            where = where[np.argsort(rows[where], kind="stable")]
            vectors[where] = self.embedder.embed_passages([str(t) for t in texts[where]])
        return {"part": parts, "row": rows, "vector": vectors}


def ray_part_encoder(settings: Settings, embedder: Embedder) -> PartEncoder:
    """A ``PartEncoder`` that runs on the Ray cluster ``settings.ray_address`` names."""
    if embedder.name != embedder_name(settings.embedder):
        raise ConfigError(
            f"Ray workers build the embedder from the settings ({settings.embedder}), "
            f"not from the {embedder.name} object given; build without --ray"
        )
    spec = EmbedderSpec.from_settings(settings)

    def encode(parts: list[list[str]], progress: Progress) -> Iterator[tuple[int, np.ndarray]]:
        ray = _import_ray()
        with _ray_session(ray, settings, progress) as workers:
            workers = min(workers, len(parts))
            progress.start(
                f"embedding passages on Ray ({workers} worker{'s' if workers > 1 else ''})",
                sum(len(p) for p in parts),
            )
            yield from _run_job(ray, spec, parts, workers, progress)

    return encode


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingDependencyError(INSTALL_HINT) from None
    # Ray's and Ray Data's own INFO lines (cluster start, execution plans, progress
    # bars) would bury the build's progress on stderr
    logging.getLogger("ray").setLevel(logging.ERROR)
    for handler in logging.getLogger("ray.data").handlers:  # its own, not propagated
        # the console only: the session's ray-data.log keeps everything
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.ERROR)
    with warnings.catch_warnings():  # Ray's own defaults set its deprecated fields
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ray


@contextlib.contextmanager
def _ray_session(ray: Any, settings: Settings, progress: Progress) -> Iterator[int]:
    """Connect to (or start) Ray for the job, and leave it as it was; yields the workers."""
    address = settings.ray_address
    if ray.is_initialized():  # the caller's own session (a notebook): use it, keep it
        yield settings.ray_workers or _cluster_cpus(ray)
        return
    where = "a local Ray" if address == "local" else f"the Ray cluster at {address}"
    progress.start(f"starting {where}" if address == "local" else f"connecting to {where}", 0)
    if address not in ("local", "auto"):
        _check_reachable(address)
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address == "local":
        options |= {"num_cpus": settings.ray_workers or _usable_cpus(), "include_dashboard": False}
    else:
        options["address"] = address
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ray client's timeout warning repeats the error
            ray.init(**options)
    except Exception as exc:  # Ray raises bare Exceptions too (a local node slow to start)
        verb = "start" if address == "local" else "connect to"
        raise ClusterError(f"cannot {verb} {where}: {_last_line(exc)}{NOTHING_CHANGED}") from None
    try:
        yield settings.ray_workers or _cluster_cpus(ray)
    finally:
        ray.shutdown()


def _run_job(
    ray: Any, spec: EmbedderSpec, parts: list[list[str]], workers: int, progress: Progress
) -> Iterator[tuple[int, np.ndarray]]:
    import pyarrow as pa

    blocks = [
        pa.table({"part": [n] * len(texts), "row": list(range(len(texts))), "text": texts})
        for n, texts in enumerate(parts)
    ]
    with warnings.catch_warnings():
        # max_restarts is passed the way Ray 2.40-2.60 take it (a later Ray names it);
        # an actor that dies fails the job instead of being restarted, and the parts
        # already committed to the cache are not embedded again by the next run
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = ray.data.from_arrow(blocks).map_batches(
            PassageEncoder,
            fn_constructor_args=(spec,),
            batch_size=None,  # one block = one part, embedded whole
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=WORKER_CPUS,
            max_restarts=0,
        )
    # rows come back in whatever order and blocks the job produced: a part is yielded
    # once all of its rows are in
    pending: dict[int, np.ndarray] = {}
    filled: dict[int, int] = {}
    failures = (ray.exceptions.RayError, *_user_code_errors(ray))
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for part, row, vector in zip(batch["part"], batch["row"], batch["vector"], strict=True):
                number = int(part)
                if number not in pending:
                    pending[number] = np.empty((len(parts[number]), len(vector)), np.float32)
                pending[number][int(row)] = vector
                filled[number] = filled.get(number, 0) + 1
                if filled[number] == len(parts[number]):
                    progress.advance(filled.pop(number))
                    yield number, pending.pop(number)
    except failures as exc:
        raise ClusterError(
            f"the Ray embedding job failed: {_last_line(exc)}; the passages embedded so far "
            f"are in the embedding cache{NOTHING_CHANGED}"
        ) from None


def _user_code_errors(ray: Any) -> tuple[type[BaseException], ...]:
    """Ray Data's wrapper for an exception raised inside the actor (a model that fails to load)."""
    found = getattr(getattr(ray.data, "exceptions", None), "UserCodeException", None)
    return (found,) if isinstance(found, type) else ()


def _check_reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(
            f"cannot reach the Ray cluster at {address} ({reason}); is its head running, "
            f"and the port open?{NOTHING_CHANGED}"
        ) from None


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1].rstrip(".") if lines else type(exc).__name__
