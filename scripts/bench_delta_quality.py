#!/usr/bin/env python3
"""Retrieval quality of a base + delta version against a rebuild of the same articles.

CMRC 2018 paragraphs (+ news-oped2 distractors when ../shared is there): one index is
built from everything; the other is built without every ``--every``-th file (paragraphs
and distractors alike) and then updated with them, written as a delta
(``rag.index.local.segments``, its thresholds lifted for the run). The delta holds ~1/``every``
of the passages and the gold passages of ~1/``every`` of the questions, so any skew
between the segments' keyword scores shows up in the figures.

    python scripts/bench_delta_quality.py            # prints a table (--json: one object)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import _common

import rag.index.local.segments as segments  # the delta writer's thresholds, lifted for the run
from rag import Archive, Settings
from rag.config import MODES  # the search modes (rag exports no list of them)

# the evaluation's question runner and CMRC reader: the figures `rag eval` prints
from rag.eval.retrieval import load_squad, run_questions, write_paragraph_articles
from rag.progress import SilentProgress

ROOT = _common.ROOT
CMRC = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"
OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"


def measure(every: int) -> dict[str, object]:
    paragraphs, questions = load_squad(CMRC)
    distractors = [str(OPED2)] if OPED2.is_dir() else []  # named in the report
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-delta-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        corpus = work / "paragraphs"
        write_paragraph_articles(paragraphs, corpus)
        if OPED2.is_dir():  # the distractors go late too: a delta of ~1/every of everything
            shutil.copytree(OPED2, corpus / "oped2")
        files = sorted(p for p in corpus.rglob("*") if p.is_file())
        held = work / "held"
        held.mkdir()
        for path in files[::every]:
            shutil.move(path, held / path.relative_to(corpus).as_posix().replace("/", "-"))
        segments.DELTA_MIN_BASE_PASSAGES = 0
        segments.MAX_DELTA_SHARE = 1.0
        with Archive(Settings(index_dir=work / "delta", cache_dir=cache)) as archive:
            archive.build([str(corpus)])
            for path in held.iterdir():
                shutil.move(path, corpus / path.name)
            report = archive.update()
            stats = archive.stats()
            assert stats.delta_passages, "the update did not write a delta"
            figures["delta_passages"] = stats.delta_passages
            # the base segment's rows: the live passages less the delta's, plus those removed
            figures["base_passages"] = (
                stats.passages - stats.delta_passages + stats.removed_passages
            )
            delta = run_questions(
                CMRC, archive, report, questions, MODES, distractors, SilentProgress()
            )
        with Archive(Settings(index_dir=work / "rebuilt", cache_dir=cache)) as archive:
            report = archive.build([str(corpus)])
            rebuilt = run_questions(
                CMRC, archive, report, questions, MODES, distractors, SilentProgress()
            )
    figures["questions"] = len(questions)
    for name, result in (("delta", delta), ("rebuilt", rebuilt)):
        figures[name] = {
            mode: {
                k: round(v, 4)
                for k, v in result.passage_level[mode].as_dict().items()
                if k in ("R@1", "R@5", "MRR@10")
            }
            for mode in MODES
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=5, help="every n-th paragraph goes late")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.every)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"{figures['questions']} questions; base {figures['base_passages']} passages, "
        f"delta {figures['delta_passages']}"
    )
    print(f"{'mode':8} {'metric':10} {'rebuilt':>8} {'delta':>8}")
    for mode in MODES:
        for metric, value in figures["rebuilt"][mode].items():  # type: ignore[index]
            print(f"{mode:8} {metric:10} {value:8.3f} {figures['delta'][mode][metric]:8.3f}")  # type: ignore[index]


if __name__ == "__main__":
    main()
