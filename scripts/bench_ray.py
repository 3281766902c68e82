#!/usr/bin/env python3
"""Embedding throughput: a local build against ``--ray local`` (Ray Data, one actor per CPU).

Cold builds (empty embedding cache) of the sample corpus and, when ../shared is present,
the 300 news-oped2 articles, run side by side in one process. Per run: seconds to start
Ray, seconds of the embedding stage (for Ray it includes starting the actors and loading
the model in each), passages/s of that stage and of the whole build, and whether the
vectors equal the local build's. For the local run, passages per CPU-second of the
embedding stage (the throughput one core gives, whatever the load).

    nice python scripts/bench_ray.py [--workers 1 2] [--corpora sample oped2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _common
import numpy as np

from rag import Archive, Settings

# the stored vectors, compared with the local build's (no public call returns them)
from rag.index.dense import load_dense
from rag.index.store import current_version_dir

ROOT = _common.ROOT
OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"
SAMPLE = ROOT / "corpus" / "sample"


class StageClock:
    """A ``Progress`` that timestamps each stage."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, float, float]] = []

    def start(self, stage: str, total: int) -> None:
        self.starts.append((stage, time.monotonic(), time.process_time()))

    def advance(self, steps: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def seconds(self, prefix: str, cpu: bool = False) -> float:
        """Seconds (wall, or this process's CPU) of the first stage named ``prefix...``."""
        for (stage, *began), (_, *ended) in zip(self.starts, self.starts[1:], strict=False):
            if stage.startswith(prefix):
                return ended[cpu] - began[cpu]
        return 0.0


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {model}, {mem:.0f} GB RAM, load {load()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass(frozen=True)
class Run:
    label: str
    embedded: int
    start: float
    embed: float
    embed_cpu: float
    total: float
    vectors: np.ndarray
    load: str


def run(corpus: Path, work: Path, label: str, ray_address: str = "", ray_workers: int = 0) -> Run:
    index_dir = work / label
    settings = Settings(index_dir=index_dir, ray_address=ray_address, ray_workers=ray_workers)
    clock = StageClock()
    began = time.monotonic()
    report = Archive(settings).build([str(corpus)], progress=clock)
    total = time.monotonic() - began
    return Run(
        label=label,
        embedded=report.embedded,
        start=clock.seconds("starting"),
        embed=clock.seconds("embedding passages"),
        embed_cpu=clock.seconds("embedding passages", cpu=True),
        total=total,
        vectors=load_dense(current_version_dir(index_dir)).reconstruct_n(0, report.passages),
        load=load(),
    )


def bench(name: str, corpus: Path, workers: list[int]) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"bench-ray-{name}-"))
    try:
        rows = [run(corpus, work, "local")]
        for n in workers:
            rows.append(run(corpus, work, f"ray-{n}", ray_address="local", ray_workers=n))
        print(f"\n{name}: {len(rows[0].vectors)} passages")
        print(
            f"{'run':<10}{'Ray start s':>12}{'embed s':>10}{'embed p/s':>11}"
            f"{'build s':>10}{'build p/s':>11}{'p/CPU-s':>9}{'max |Δ| vs local':>18}"
            "  load after"
        )
        for row in rows:
            diff = float(np.abs(row.vectors - rows[0].vectors).max())
            # passages per CPU-second of the embedding engine: measurable for the local
            # run only (Ray's workers are other processes)
            cpu = f"{row.embedded / row.embed_cpu:.1f}" if row.label == "local" else "-"
            print(
                f"{row.label:<10}{row.start:>12.1f}{row.embed:>10.1f}"
                f"{row.embedded / row.embed:>11.1f}{row.total:>10.1f}"
                f"{row.embedded / row.total:>11.1f}{cpu:>9}{diff:>18.2g}  {row.load}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[2], help="Ray worker counts to run."
    )
    parser.add_argument(
        "--articles", type=int, default=300, help="The first N news-oped2 articles (all: 300)."
    )
    parser.add_argument(
        "--corpora", nargs="+", choices=["sample", "oped2"], default=["sample", "oped2"]
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if "sample" in args.corpora:
        bench("sample", SAMPLE, args.workers)
    if "oped2" not in args.corpora:
        return
    if OPED2.is_dir():
        with tempfile.TemporaryDirectory(prefix="bench-ray-oped2-") as subset:
            for path in sorted(OPED2.iterdir())[: args.articles]:
                shutil.copy(path, subset)
            bench(f"news-oped2 (first {args.articles} articles)", Path(subset), args.workers)
    else:
        print(f"\nnews-oped2: skipped ({OPED2} not found)")


if __name__ == "__main__":
    main()
