#!/usr/bin/env python3
"""A fresh build's passages/s beside the passage engine's own rate on the same passages.

Builds an index of the first ``--articles`` news articles (``../shared/data/news-oped2``)
into a temporary directory with an empty embedding cache, then embeds the same passage
texts with the same engine alone; repeated ``--repeat`` times, interleaved, medians
printed with the machine and its load. The ratio is how much of the engine's rate the
whole build (read, dedup, chunk, embed, BM25, FAISS, metadata) keeps.

    python scripts/bench_build_rate.py --articles 60
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _common
from bench_engine import load
from bench_engine_routes import cpu_model

from rag import Archive, Settings

# the engine alone, on the passage texts a build embeds (read, merged and chunked as it does)
from rag.build.pipeline import chunk_articles
from rag.build.sources import read_sources
from rag.embed import embedder_for
from rag.ingest import merge_duplicates
from rag.progress import SilentProgress

ROOT = _common.ROOT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/news-oped2")
    ap.add_argument("--articles", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, load {load()}")
    files = sorted(args.data_dir.glob("*.md"))[: args.articles]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles"
        src.mkdir()
        for f in files:
            shutil.copy(f, src / f.name)
        base = Settings(index_dir=Path(tmp) / "index")
        read = read_sources([str(src)], [], int(base.max_file_mb * 1e6), SilentProgress())
        _, texts = chunk_articles(merge_duplicates([s.article for s in read.sources]), base)
        embedder = embedder_for(base)
        embedder.embed_passages(texts[:16])  # the engine loaded before any timing
        print(f"engine {base.e5_engine}: {len(files)} articles, {len(texts)} passages")
        build_rates, engine_rates = [], []
        for i in range(args.repeat):
            settings = Settings(
                index_dir=Path(tmp) / f"index{i}", cache_dir=Path(tmp) / f"cache{i}"
            )
            t = time.perf_counter()
            report = Archive(settings).build([str(src)])
            build_rates.append(report.passages / (time.perf_counter() - t))
            t = time.perf_counter()
            embedder.embed_passages(texts)
            engine_rates.append(len(texts) / (time.perf_counter() - t))
            print(
                f"  run {i + 1}: build {build_rates[-1]:.1f} passages/s, engine alone "
                f"{engine_rates[-1]:.1f} (load {load()})",
                flush=True,
            )
    b, e = statistics.median(build_rates), statistics.median(engine_rates)
    print(f"build {b:.1f} passages/s, engine {e:.1f}: the build at {b / e:.0%} of the engine")


if __name__ == "__main__":
    main()
