#!/usr/bin/env python3
"""Indexing throughput and query latency on the sample corpus and, when present,
../shared/data/news-oped2 (300 real articles).

Prints, per corpus: articles/s and passages/s of a cold build (empty embedding cache),
the time of a no-change update and of an update after adding one article (with the
number of passages embedded), and warm query latency p50/p95 per mode.

    python scripts/bench_index.py [--skip-oped2] [--queries N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _common

from rag import Archive, SearchOptions, Settings
from rag.config import MODES  # the search modes (rag exports no list of them)

ROOT = _common.ROOT
SHARED_OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"
QUESTIONS = [
    "中美在COP28上承诺了什么",
    "What did China and the US promise at COP28?",
    "网络审查如何影响新闻自由",
    "香港的新闻自由",
    "翻墙软件",
    "中国的人权律师",
    "气候变化 甲烷 排放",
    "台湾 选举",
]
NEW_ARTICLE = """---
title: "新增文章：基准测试"
date: 2024-05-01T08:00:00+08:00
from: https://example.org/bench/new
---

<p>这是一篇在完整索引之后新增的文章，用来测量增量更新所需的时间。</p>
<p>增量更新只应读取和嵌入这一篇新文章，其余文章保持不变。</p>
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_corpus(name: str, source: Path, queries: int) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(source, corpus)
        settings = Settings(index_dir=work / "index")
        started = time.perf_counter()
        report = Archive(settings).build([str(corpus)])
        full = time.perf_counter() - started
        print(
            f"{name}: cold build {report.articles} articles, {report.passages} passages in "
            f"{full:.1f}s -> {report.articles / full:.2f} articles/s, "
            f"{report.passages / full:.1f} passages/s (failed {report.failed})"
        )
        started = time.perf_counter()
        same = Archive(settings).update()
        no_change = time.perf_counter() - started
        (corpus / "zz-new-article.md").write_text(NEW_ARTICLE, encoding="utf-8")
        started = time.perf_counter()
        added = Archive(settings).update()
        one_new = time.perf_counter() - started
        print(
            f"{name}: no-change update {no_change:.2f}s (embedded {same.embedded}); "
            f"+1 article update {one_new:.2f}s (embedded {added.embedded}) = "
            f"{100 * one_new / full:.1f}% of the full build"
        )
        # query_cache=0: every timed query embeds its question, as a new question would
        reader = Archive(settings.with_overrides(query_cache=0))
        reader.search(QUESTIONS[0])  # load the model once
        for mode in MODES:
            times = []
            for i in range(queries):
                question = QUESTIONS[i % len(QUESTIONS)]
                t = time.perf_counter()
                reader.search(question, SearchOptions(k=5, mode=mode))
                times.append(1000 * (time.perf_counter() - t))
            print(
                f"{name}: {mode:<7} query p50 {statistics.median(times):.1f} ms, "
                f"p95 {pct(times, 0.95):.1f} ms over {queries} queries"
            )
        reader.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-oped2", action="store_true")
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    bench_corpus("sample", ROOT / "corpus" / "sample", args.queries)
    if args.skip_oped2:
        return
    if SHARED_OPED2.is_dir():
        bench_corpus("news-oped2", SHARED_OPED2, args.queries)
    else:
        print(f"news-oped2: skipped ({SHARED_OPED2} not found)")


if __name__ == "__main__":
    main()
