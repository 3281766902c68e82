"""What checking an index version costs a cold ``rag ask``: ``index_check`` off, quick and
full (the default) side by side in one run, runs interleaved, on the sample index and on
a synthesised large archive (random vectors in the embedding cache, as bench.py's
cold-large row). Also the cost of ``rag index verify`` and of an update's full check.

    python scripts/bench_index_check.py [--passages 120000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from bench import BENCH_UPDATE, OPED2, QUESTION, SAMPLE, machine

from rag import Archive, Settings
from rag.index.store import current_version_dir

LEVELS = ("off", "quick", "full")


def cold_asks(index: Path, runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    """Wall seconds of fresh ``rag ask`` processes per level, the levels interleaved so
    that a busy moment of the machine falls on all of them alike."""
    rag = Path(sys.executable).with_name("rag")
    cmd = [str(rag), "ask", QUESTION, "--index", str(index)]
    subprocess.run(cmd, capture_output=True, check=True, env=env)  # page cache, jieba
    times: dict[str, list[float]] = {level: [] for level in LEVELS}
    for _ in range(runs):
        for level in LEVELS:
            started = time.perf_counter()
            subprocess.run(
                cmd, capture_output=True, check=True, env={**env, "RAG_INDEX_CHECK": level}
            )
            times[level].append(time.perf_counter() - started)
    return times


def report(name: str, index: Path, times: dict[str, list[float]], env: dict[str, str]) -> None:
    version = current_version_dir(index)
    size = sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
    off = statistics.median(times["off"])
    print(f"\n{name}: {size / 2**20:.1f} MB in the version")
    for level in LEVELS:
        median = statistics.median(times[level])
        print(
            f"  index_check={level:<5}  cold rag ask median {median:.3f} s "
            f"(min {min(times[level]):.3f}, max {max(times[level]):.3f}; "
            f"{median / off:.2f}x off)"
        )
    rag = Path(sys.executable).with_name("rag")
    started = time.perf_counter()
    subprocess.run(
        [str(rag), "index", "verify", "--index", str(index)], capture_output=True, env=env
    )
    print(
        f"  rag index verify (version, caches, model files): {time.perf_counter() - started:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=120_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}; CPU features: {_common.cpu_features()}")
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample"
        Archive(Settings(index_dir=sample)).build([str(SAMPLE)])
        report(
            "sample index", sample, cold_asks(sample, args.runs, dict(os.environ)), dict(os.environ)
        )

        source = OPED2 if OPED2.is_dir() else SAMPLE
        archive, cache, index = Path(tmp) / "archive", Path(tmp) / "cache", Path(tmp) / "large"
        synth = ["synth", str(archive), "--source", str(source), "--passages", str(args.passages)]
        subprocess.run(
            [*BENCH_UPDATE, *synth, "--cache", str(cache)], check=True, capture_output=True
        )
        shutil.copytree(SAMPLE, archive / "sample")
        built = Archive(Settings(index_dir=index, cache_dir=cache)).build([str(archive)])
        env = {**os.environ, "RAG_CACHE_DIR": str(cache)}
        report(
            f"large archive ({built.passages:,} passages)",
            index,
            cold_asks(index, args.runs, env),
            env,
        )


if __name__ == "__main__":
    main()
