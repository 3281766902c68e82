#!/usr/bin/env python3
"""Cold `rag ask` for a question in Simplified, Traditional and English (one plain, one
naming a person in pinyin), side by side in one run: each round runs one fresh process
per question, in turn, so load changes touch every language alike. Also times the first
English question with an empty model cache, when the dictionary tables are made.

    python scripts/bench_cold_languages.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, cpu_features
from bench import machine

from rag import Archive, Settings

ARTICLES = [ROOT / "corpus" / "sample", ROOT / "tests" / "data" / "news"]
QUESTIONS = {
    "Simplified": "中美在COP28上承诺了什么",
    "Traditional": "中美在COP28上承諾了什麼",
    "English": "What did China and the US promise at COP28?",
    "English, pinyin name": "What did Xie Zhenhua say about climate cooperation?",
}


def one_ask(index: Path, question: str, env: dict[str, str]) -> float:
    rag = Path(sys.executable).with_name("rag")
    started = time.perf_counter()
    subprocess.run(
        [str(rag), "ask", question, "--index", str(index)], capture_output=True, check=True, env=env
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        Archive(Settings(index_dir=index)).build([str(p) for p in ARTICLES])
        fresh = {**os.environ, "RAG_MODEL_CACHE_DIR": str(Path(tmp) / "models")}
        # a first English question in an empty model cache makes the dictionary tables
        # (and the engine's files, made first by a Chinese question so they are not counted)
        one_ask(index, QUESTIONS["Simplified"], fresh)
        first_english = one_ask(index, QUESTIONS["English"], fresh)
        env = dict(os.environ)
        for question in QUESTIONS.values():  # page cache, jieba's and the dictionary's tables
            one_ask(index, question, env)
        times: dict[str, list[float]] = {name: [] for name in QUESTIONS}
        for _ in range(args.runs):
            for name, question in QUESTIONS.items():
                times[name].append(one_ask(index, question, env))
    print(f"machine: {machine()}; CPU features: {cpu_features()}")
    print(f"cold rag ask, {args.runs} rounds, median (min-max), s; {len(ARTICLES)} article folders")
    base = statistics.median(times["Simplified"])
    for name, found in times.items():
        median = statistics.median(found)
        print(
            f"  {name:<22} {median:.3f} ({min(found):.3f}-{max(found):.3f})"
            f"  {median - base:+.3f} vs Simplified"
        )
    print(f"  first English question, empty model cache: {first_english:.2f} s")


if __name__ == "__main__":
    main()
