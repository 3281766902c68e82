#!/usr/bin/env python3
"""The local backend against Milvus (embedded milvus-lite, and ``milvus-lite server`` over
gRPC on 127.0.0.1), side by side in one run on the same passages and vectors.

Passages are the real news-oped2 articles (``../shared/data/news-oped2``, else the
test data), chunked as a build does, repeated ``--copies`` times (each copy its own
article) to reach a size. Vectors are random unit vectors, not embeddings: exact (FLAT)
search costs the same whatever the vectors hold, and this leaves the embedder out of the
comparison. Keyword queries are real Chinese questions. Per backend: the time to write
a version, to open it, and warm p50/p95 of what ``search_index`` asks the backend for
one question (dense ranking, keyword ranking, the cosines of the top 10). milvus-lite
latencies are not a Milvus server's: it is one process with its own segment engine.

Also measured: how far BM25 drifts when the average passage length is frozen at a first
build instead of recomputed (what an incremental Milvus update would do at scale).

    python scripts/bench_milvus.py --copies 1
    python scripts/bench_milvus.py --copies 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import _common
import numpy as np

from rag import Article, Chunk, Settings

# the storage backends are what is measured (and BM25 on their tokens), on passages read,
# merged and chunked as a build does
from rag.build.pipeline import chunk_articles
from rag.build.sources import read_sources
from rag.index.backend import SearchIndex, open_index, write_index_version
from rag.index.tokenize import tokenize, tokenize_query
from rag.ingest import merge_duplicates
from rag.progress import SilentProgress

ROOT = _common.ROOT
OPED = ROOT.parent / "shared" / "data" / "news-oped2"
QUESTIONS = [
    "中美在COP28上承诺了什么",
    "网络审查与翻墙",
    "新闻自由与记者",
    "香港的抗议活动",
    "人工智能对就业的影响",
    "疫情期间的言论管控",
    "台湾选举结果",
    "互联网公司的隐私政策",
    "经济增速放缓的原因",
    "环境污染与公众健康",
]
DIM = 384


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{os.cpu_count()} cores, {model}, load {load}"


def corpus(copies: int) -> tuple[list[Article], list[Chunk]]:
    folder = OPED if OPED.is_dir() else ROOT / "tests" / "data" / "news"
    read = read_sources([str(folder)], [], 20_000_000, SilentProgress())
    base = merge_duplicates([s.article for s in read.sources])
    articles = [replace(a, id=f"{a.id}-{n}") if n else a for n in range(copies) for a in base]
    chunks, _ = chunk_articles(articles, Settings())
    return articles, chunks


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``repeat`` warm calls (after one cold call)."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(
    name: str,
    settings: Settings,
    articles: list[Article],
    chunks: list[Chunk],
    vectors: np.ndarray,
    qvecs: np.ndarray,
    repeat: int,
) -> dict[str, object]:
    start = time.perf_counter()
    write_index_version(settings.index_dir, settings, articles, chunks, vectors, embedder="random")
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    reader: SearchIndex = open_index(settings.index_dir)
    open_s = time.perf_counter() - start
    row: dict[str, object] = {
        "backend": name,
        "passages": len(chunks),
        "write_s": write_s,
        "open_s": open_s,
    }
    for label, call in (
        ("dense", lambda q, v: reader.rank_dense(v, 50, None)),
        ("keyword", lambda q, v: reader.rank_keyword(q, 50, None)),
        ("cosines10", lambda q, v: reader.cosines(v, list(range(10)))),
    ):
        p50s, p95s = [], []
        for question, qvec in zip(QUESTIONS, qvecs, strict=True):
            p50, p95 = timed(lambda c=call, q=question, v=qvec: c(q, v), repeat)
            p50s.append(p50)
            p95s.append(p95)
        row[f"{label}_p50_ms"] = float(np.median(p50s))
        row[f"{label}_p95_ms"] = float(np.median(p95s))
    row["rankings"] = [
        [r for r, _ in reader.rank_keyword(q, 10, None)]
        + [r for r, _ in reader.rank_dense(v, 10, None)]
        for q, v in zip(QUESTIONS, qvecs, strict=True)
    ]
    reader.close()
    return row


def bm25_drift(chunks: list[Chunk], first_share: float = 0.9) -> float:
    """Mean top-10 overlap between BM25 with avgdl recomputed over the whole corpus and
    with avgdl frozen at the first ``first_share`` of it (rows added later use it too)."""
    docs = [tokenize(c.text) for c in chunks]
    lengths = np.array([len(d) for d in docs], dtype=np.float64)
    frozen = lengths[: int(len(docs) * first_share)].mean()
    exact = lengths.mean()
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    n = len(docs)
    overlaps = []
    for question in QUESTIONS:
        terms = tokenize_query(question)
        scores = {"exact": np.zeros(n), "frozen": np.zeros(n)}
        for i, d in enumerate(docs):
            for t in terms:
                tf = d.count(t)
                if not tf:
                    continue
                idf = np.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                for key, avgdl in (("exact", exact), ("frozen", frozen)):
                    scores[key][i] += idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * lengths[i] / avgdl))
        top = {k: set(np.argsort(-v, kind="stable")[:10].tolist()) for k, v in scores.items()}
        overlaps.append(len(top["exact"] & top["frozen"]) / 10)
    return float(np.mean(overlaps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    print(f"machine: {machine()}; python {sys.version.split()[0]}")
    articles, chunks = corpus(args.copies)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(chunks), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    qvecs = rng.normal(size=(len(QUESTIONS), DIM)).astype(np.float32)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    print(f"{len(articles)} articles, {len(chunks)} passages, random {DIM}-d unit vectors, FLAT")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as tmp:
        base = Settings(index_dir=Path(tmp) / "local", index_kind="flat")
        rows.append(measure("local", base, articles, chunks, vectors, qvecs, args.repeat))
        lite = replace(
            base,
            index_dir=Path(tmp) / "lite",
            backend="milvus",
            milvus_uri=str(Path(tmp) / "lite.db"),
        )
        rows.append(measure("milvus-lite", lite, articles, chunks, vectors, qvecs, args.repeat))
        rows[-1]["disk_bytes"] = size_of(Path(tmp) / "lite.db") + size_of(lite.index_dir)
        rows[0]["disk_bytes"] = size_of(base.index_dir)
        port = _common.free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite.cmdline",
                "server",
                "--data-dir",
                str(Path(tmp) / "server"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            net = replace(
                base,
                index_dir=Path(tmp) / "net",
                backend="milvus",
                milvus_uri=f"http://127.0.0.1:{port}",
            )
            rows.append(
                measure("milvus-lite server", net, articles, chunks, vectors, qvecs, args.repeat)
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    same = all(r["rankings"] == rows[0]["rankings"] for r in rows)
    cols = [
        "write_s",
        "open_s",
        "dense_p50_ms",
        "dense_p95_ms",
        "keyword_p50_ms",
        "keyword_p95_ms",
        "cosines10_p50_ms",
    ]
    print(f"{'backend':20}" + "".join(f"{c:>17}" for c in cols))
    for r in rows:
        print(f"{r['backend']:20}" + "".join(f"{float(r[c]):17.2f}" for c in cols))  # type: ignore[arg-type]
    print(f"identical top-10 dense and keyword rankings on every backend: {same}")
    drift = bm25_drift(chunks)
    print(f"BM25 with avgdl frozen at 90% of the corpus: mean top-10 overlap {drift:.3f}")
    if args.json:
        for r in rows:
            r.pop("rankings")
        args.json.write_text(
            json.dumps({"machine": machine(), "rows": rows, "bm25_drift": drift}, indent=2)
        )


if __name__ == "__main__":
    main()
