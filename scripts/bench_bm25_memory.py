#!/usr/bin/env python3
"""Peak memory and time of building the keyword (BM25) side for N passages.

    python scripts/bench_bm25_memory.py --passages 200000          # this checkout
    PYTHONPATH=/path/to/other/checkout python scripts/...          # another one

The passages are real news passages with their titles, as the index's keyword side
holds them (``../shared/data/news-oped2``, else the sample corpus), repeated until
there are N, each with a different number appended so that no two are equal (repeated
texts are tokenised once, which would flatter the figure). What is measured is
``TermCounts.from_texts`` (tokenising and counting), ``KeywordIndex.from_terms`` (the
BM25 score matrix) and ``save``, in a fresh process: its peak RSS (``ru_maxrss``) and
wall time, printed as one JSON line with the number of (passage, token) pairs.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import _common

from rag import Settings

# the keyword index's own counting, scoring and saving are what is measured
from rag.index.sparse import KeywordIndex, TermCounts

ROOT = _common.ROOT
SOURCES = [ROOT.parent / "shared" / "data" / "news-oped2", ROOT / "corpus" / "sample"]


def texts(n: int) -> list[str]:
    """``n`` keyword documents as an index holds them (title + 300-character passage)."""
    # read, chunked and joined to their titles as a build does, without building
    from rag.build.chunking import chunk_article
    from rag.index.sparse import keyword_text
    from rag.ingest import load_article

    pieces: list[str] = []
    for folder in SOURCES:
        for path in sorted(folder.glob("*.md")) + sorted(folder.glob("*.txt")):
            article = load_article(path)[0]
            pieces += [keyword_text(article.title, c.text) for c in chunk_article(article)]
        if pieces:
            break
    return [f"{pieces[i % len(pieces)]} 第{i}号" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=200_000)
    args = parser.parse_args()
    corpus = texts(args.passages)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    tokenizer = Settings().tokenizer
    terms = TermCounts.from_texts(corpus, tokenizer)
    del corpus
    counted = time.perf_counter() - t
    index = KeywordIndex.from_terms(terms, tokenizer)
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp))
    total = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "passages": args.passages,
                "pairs": len(terms.ids),
                "vocab": len(terms.vocab),
                "peak_rss_mb": round(peak),
                "texts_rss_mb": round(before),
                "count_s": round(counted, 1),
                "total_s": round(total, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
