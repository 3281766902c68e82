#!/usr/bin/env python
"""Latency the extractive answer adds on top of the search, warm, per question.

    scripts/bench_answer.py [--index indexes/sample] [--repeat 5]

Builds the index from corpus/sample first if it does not exist. Prints the median
search time and the median extra wall and CPU time of ``extractive_answer`` for a
Chinese and an English question (the model is loaded and warmed up before timing).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import _common

from rag import Archive, SearchOptions, Settings

# the extractive answer alone is what is timed (Archive.ask would add the search to it)
from rag.answer.compose import extractive_answer

QUESTIONS = ("中美在COP28上承诺了什么", "What did China and the US promise at COP28?")
ROOT = _common.ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "indexes" / "sample")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (args.index / "CURRENT").exists():
        Archive(Settings(index_dir=args.index)).build([str(ROOT / "corpus" / "sample")])
    reader = Archive(Settings(index_dir=args.index, query_cache=0))
    for question in QUESTIONS:
        result = reader.search(question, SearchOptions(k=5))
        extractive_answer(result, reader.embedder)  # warm-up
        search_ms, answer_ms, answer_cpu_ms = [], [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = reader.search(question, SearchOptions(k=5))
            searched, cpu = time.perf_counter(), time.process_time()
            answer = extractive_answer(result, reader.embedder)
            search_ms.append((searched - started) * 1000)
            answer_ms.append((time.perf_counter() - searched) * 1000)
            answer_cpu_ms.append((time.process_time() - cpu) * 1000)
        # CPU time as well as wall time: on a busy machine the wall time mostly measures
        # the other processes.
        print(
            f"{question}\n  search {statistics.median(search_ms):.0f} ms, "
            f"extractive answer +{statistics.median(answer_ms):.0f} ms wall "
            f"(min {min(answer_ms):.0f}), {statistics.median(answer_cpu_ms):.0f} ms CPU; "
            f"{len(answer.sentences)} sentences"
        )


if __name__ == "__main__":
    main()
