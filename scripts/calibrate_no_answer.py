#!/usr/bin/env python3
"""Calibrate the "no relevant passage" threshold on the best passage's cosine.

Answerable: CMRC 2018 questions asked of an index holding their paragraphs (plus the
news-oped2 distractors when present). Unanswerable: the same questions asked of a news
index (the sample corpus, plus news-oped2 when present) that cannot answer them. Prints,
per threshold, how often answerable questions are wrongly refused and unanswerable ones
wrongly answered. The chosen values live in rag.config.Settings (min_score_zh / _other).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.archive import Archive  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evaluate import load_squad, top_cosines, write_paragraph_articles  # noqa: E402

CMRC = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"
OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"
SAMPLE = ROOT / "corpus" / "sample"


def main() -> None:
    work = ROOT / "indexes" / "calibrate"
    cache = work / "cache"
    paragraphs, questions = load_squad(CMRC)
    write_paragraph_articles(paragraphs, work / "paragraphs")
    news = [str(SAMPLE)] + ([str(OPED2)] if OPED2.is_dir() else [])
    answerable_index = Settings(index_dir=work / "answerable", cache_dir=cache)
    news_index = Settings(index_dir=work / "news", cache_dir=cache)
    Archive(answerable_index).build([str(work / "paragraphs"), *news[1:]])
    Archive(news_index).build(news)
    texts = [q.text for q in questions]
    answerable = top_cosines(Archive(answerable_index), texts)
    unanswerable = top_cosines(Archive(news_index), texts)
    print(f"{len(texts)} questions; news index: {', '.join(news)}")
    for name, values in (("answerable", answerable), ("unanswerable", unanswerable)):
        pct = np.percentile(values, [1, 5, 50, 95, 99]).round(3)
        print(f"{name:>12} top cosine p1/p5/p50/p95/p99: {pct.tolist()}")
    print("threshold  wrongly refused  wrongly answered")
    for threshold in np.arange(0.80, 0.90, 0.01):
        refused = float((answerable < threshold).mean())
        answered = float((unanswerable >= threshold).mean())
        print(f"{threshold:9.2f}  {refused:15.3f}  {answered:16.3f}")
    print(f"current setting for Chinese questions: {Settings().min_score_zh}")


if __name__ == "__main__":
    main()
