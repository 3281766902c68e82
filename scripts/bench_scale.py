#!/usr/bin/env python3
"""Latency, memory and ANN recall from 10k to 1M passages, on perturbed real embeddings.

The passages of an existing index (the biggest one found, or ``--source``) are copied
until there are N of them: copy 0 is the real index, every later copy of a passage keeps
its text (so BM25 sees real, if duplicated, Chinese) and gets the real vector plus
covariance-shaped noise, renormalised. The noise scale is chosen so that a copy's mean
cosine to its source equals the median cosine of a real passage to its nearest real
neighbour. Each copy of an article is its own article with a later date.

For each N and index kind the index is written in the real on-disk format, then a fresh
process opens it with ``IndexReader`` and answers real CMRC questions: warm p50/p95 of
``rag.search.retrieve.search_index`` (what ``Archive.search`` runs) per mode, with the real e5
query embedding and without it (vectors embedded beforehand), and the process's RSS.
ANN recall@10 is measured against exact search over the same vectors.

    python scripts/bench_scale.py --sizes 10000,100000 --kinds flat,ivf,hnsw
    python scripts/bench_scale.py --sizes 1000000 --kinds ivf,hnsw --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import _common
import numpy as np

from rag import Article, Chunk, Settings

# the index's on-disk format, written and read directly: millions of synthetic passages
# without embedding them, and each index kind's search measured on its own
from rag.index.dense import DENSE_FILE, build_dense, load_dense, save_dense, search_dense
from rag.index.local.write import write_version
from rag.index.metadata import MetadataStore
from rag.index.store import MANIFEST, IndexManifest, current_version_dir, writer_lock

ROOT = _common.ROOT
CMRC = ROOT.parent / "shared" / "data" / "cmrc2018" / "cmrc2018_trial.json"
SOURCES = [
    ROOT / "indexes" / "bench-oped2",
    ROOT / "indexes" / "eval-cmrc2018_trial",
    Path("/tmp/eval-cmrc"),
]
MODES = ("dense", "keyword", "hybrid")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def biggest_source() -> Path:
    best, size = None, -1
    for path in SOURCES:
        try:
            n = IndexManifest.from_file(current_version_dir(path) / MANIFEST).passages
        except Exception:
            continue
        if n > size:
            best, size = path, n
    if best is None:
        raise SystemExit(f"no source index found in {SOURCES}; pass --source")
    return best


def load_source(index_dir: Path) -> tuple[list[Article], list[Chunk], np.ndarray, IndexManifest]:
    version = current_version_dir(index_dir)
    manifest = IndexManifest.from_file(version / MANIFEST)
    dense = load_dense(version)
    vectors = dense.reconstruct_n(0, dense.ntotal)
    store = MetadataStore(version / "meta.sqlite")
    chunk_by_row = store.chunks(list(range(dense.ntotal)))
    chunks = [chunk_by_row[r] for r in range(dense.ntotal)]
    articles = {c.article_id: store.article(c.article_id) for c in chunks}
    store.close()
    return [a for a in articles.values() if a], chunks, vectors, manifest


def calibrate_noise(vectors: np.ndarray, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """(scale, cholesky factor): copies sit as far from their source as real neighbours."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1)
    target = float(np.median(sims.max(axis=1)))
    chol = np.linalg.cholesky(np.cov(vectors.T) + 1e-6 * np.eye(vectors.shape[1]))
    chol = chol.astype(np.float32)
    lo, hi = 0.0, 4.0
    sample = vectors[rng.integers(0, len(vectors), 4000)]
    noise = rng.standard_normal(sample.shape).astype(np.float32) @ chol.T
    for _ in range(30):
        mid = (lo + hi) / 2
        v = sample + mid * noise
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        if float((v * sample).sum(axis=1).mean()) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2, chol


def synthesize(
    n: int,
    articles: list[Article],
    chunks: list[Chunk],
    vectors: np.ndarray,
    scale: float,
    chol: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[Article], list[Chunk], np.ndarray, float]:
    """``n`` passages: copy 0 is real, later copies perturbed. Returns the mean cosine."""
    by_id = {a.id: a for a in articles}
    out_articles: list[Article] = []
    out_chunks: list[Chunk] = []
    sources: list[int] = []
    copy = 0
    while len(out_chunks) < n:
        last = None
        for row, chunk in enumerate(chunks):
            if len(out_chunks) == n:
                break
            aid = chunk.article_id if copy == 0 else f"{chunk.article_id}-{copy}"
            if aid != last:
                base = by_id[chunk.article_id]
                published = base.published + timedelta(days=copy) if base.published else None
                out_articles.append(
                    replace(
                        base,
                        id=aid,
                        published=published,
                        dates=(published,) if published else (),
                        path=None,
                    )
                )
                last = aid
            out_chunks.append(replace(chunk, id=f"{chunk.id}-{copy}", article_id=aid))
            sources.append(row)
        copy += 1
    src = np.asarray(sources)
    out = np.empty((n, vectors.shape[1]), dtype=np.float32)
    step = 100_000
    cos_sum = 0.0
    for start in range(0, n, step):
        part = src[start : start + step]
        v = vectors[part] + scale * (
            rng.standard_normal((len(part), vectors.shape[1])).astype(np.float32) @ chol.T
        )
        real = np.arange(start, start + len(part)) < len(chunks)
        v[real] = vectors[part[real]]
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + len(part)] = v
        cos_sum += float((v * vectors[part]).sum(axis=1)[~real].sum())
    perturbed = max(1, n - len(chunks))
    return out_articles, out_chunks, out, cos_sum / perturbed


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_kinds(
    work: Path,
    n: int,
    kinds: list[str],
    data: tuple[list[Article], list[Chunk], np.ndarray],
    embedder: str,
) -> dict[str, dict[str, float]]:
    """One index directory per kind; BM25 and metadata are written once and hard-linked."""
    articles, chunks, vectors = data
    results: dict[str, dict[str, float]] = {}
    first: Path | None = None
    for kind in kinds:
        index_dir = work / f"n{n}-{kind}"
        settings = Settings(index_dir=index_dir, index_kind=kind)
        if first is None:
            started = time.perf_counter()
            with writer_lock(index_dir):
                version, _ = write_version(
                    index_dir, settings, articles, chunks, vectors, embedder=embedder
                )
            total = time.perf_counter() - started
            first = version
            t = time.perf_counter()
            save_dense(build_dense(vectors, kind), Path(tempfile.mkdtemp(dir=work)))
            dense_s = time.perf_counter() - t
            results[kind] = {"build_s": total, "dense_build_s": dense_s, "rest_s": total - dense_s}
        else:
            version = index_dir / "versions" / first.name
            version.mkdir(parents=True)
            for item in first.iterdir():
                if item.name == DENSE_FILE:
                    continue
                if item.is_dir():
                    shutil.copytree(item, version / item.name, copy_function=os.link)
                else:
                    os.link(item, version / item.name)
            t = time.perf_counter()
            save_dense(build_dense(vectors, kind), version)
            dense_s = time.perf_counter() - t
            manifest = IndexManifest.from_file(first / MANIFEST)
            (version / MANIFEST).write_text(replace(manifest, index_kind=kind).to_json())
            (index_dir / "CURRENT").write_text(first.name + "\n")
            rest = results[kinds[0]]["rest_s"]
            results[kind] = {"build_s": dense_s + rest, "dense_build_s": dense_s, "rest_s": rest}
        version = current_version_dir(index_dir)
        results[kind]["disk_mb"] = dir_size(version) / 1e6
        results[kind]["dense_mb"] = (version / DENSE_FILE).stat().st_size / 1e6
    return results


def ann_recall(index_dir: Path, vectors: np.ndarray, qvecs: np.ndarray) -> float:
    dense = load_dense(current_version_dir(index_dir), mmap=True)
    exact = np.argsort(-(qvecs @ vectors.T), axis=1)[:, :10]
    hits = 0
    for q, truth in zip(qvecs, exact, strict=True):
        _, rows = search_dense(dense, q, 10)
        hits += len(set(rows.tolist()) & set(truth.tolist()))
    return hits / (10 * len(qvecs))


def questions(n: int) -> list[str]:
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    qs = [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]]
    return qs[:: max(1, len(qs) // n)][:n]


def rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    fields = {k: v.split()[0] for k, v in fields.items() if k in ("VmRSS", "VmHWM")}
    return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024


class CachedQueries:
    """Stands in for the embedder with query vectors computed beforehand."""

    def __init__(self, real: object, vectors: dict[str, np.ndarray]) -> None:
        self.real = real
        self.vectors = vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


def measure(index_dir: Path, qs: list[str], mmap: bool, repeats: int) -> dict[str, object]:
    """Run in a fresh process: open the index, answer ``qs`` in every mode."""
    from rag import SearchFilters

    # what Archive.search runs, timed with and without the question's embedding
    from rag.embed import get_embedder
    from rag.index.local.reader import IndexReader
    from rag.search.retrieve import SearchPlan, search_index

    base_rss = rss_mb()[0]
    t = time.perf_counter()
    reader = IndexReader(index_dir, mmap=mmap)
    open_s = time.perf_counter() - t
    opened_rss = rss_mb()[0]
    embedder = get_embedder(reader.manifest.embedder)
    qvecs = {q: embedder.embed_query(q) for q in qs}
    out: dict[str, object] = {"open_s": open_s, "rss_import_mb": base_rss}
    for label, emb in (("search", CachedQueries(embedder, qvecs)), ("with_embed", embedder)):
        for mode in MODES:
            plan = SearchPlan(k=5, mode=mode, per_article=2, filters=SearchFilters(), min_score=0)
            for q in qs[:5]:
                search_index(reader, emb, q, plan)  # type: ignore[arg-type]
            times = []
            for _ in range(repeats):
                for q in qs:
                    t = time.perf_counter()
                    search_index(reader, emb, q, plan)  # type: ignore[arg-type]
                    times.append((time.perf_counter() - t) * 1000)
            out[f"{label}_{mode}"] = (pct(times, 50), pct(times, 95))
    rss, peak = rss_mb()
    out.update(rss_open_mb=opened_rss, rss_mb=rss, rss_peak_mb=peak)
    return out


def measure_in_subprocess(
    index_dir: Path, qs: list[str], mmap: bool, repeats: int
) -> dict[str, object]:
    args = [sys.executable, __file__, "--measure", str(index_dir), "--repeats", str(repeats)]
    args += ["--mmap"] if mmap else []
    proc = subprocess.run(
        args, input=json.dumps(qs), capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="index to copy (default: the biggest found)")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="flat,ivf,hnsw")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-mmap", action="store_true", help="open indexes without mmap")
    parser.add_argument("--work", type=Path, help="where to write indexes (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the indexes")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        qs = json.loads(sys.stdin.read())
        print(json.dumps(measure(args.measure, qs, args.mmap, args.repeats)))
        return

    source = args.source or biggest_source()
    articles, chunks, vectors, manifest = load_source(source)
    rng = np.random.default_rng(0)
    scale, chol = calibrate_noise(vectors, rng)
    qs = questions(args.queries)
    from rag.embed import get_embedder  # the question vectors, embedded once for ANN recall

    embedder = get_embedder("e5-small")
    qvecs = np.vstack([embedder.embed_query(q) for q in qs]).astype(np.float32)
    print(
        f"source {source}: {len(chunks)} real passages, {len(articles)} articles; "
        f"noise scale {scale:.3f}; {len(qs)} CMRC questions",
        file=sys.stderr,
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-", dir=ROOT / "indexes"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            syn_articles, syn_chunks, syn_vectors, mean_cos = synthesize(
                n, articles, chunks, vectors, scale, chol, rng
            )
            kinds = args.kinds.split(",")
            built = build_kinds(
                work, n, kinds, (syn_articles, syn_chunks, syn_vectors), manifest.embedder
            )
            for kind in kinds:
                index_dir = work / f"n{n}-{kind}"
                recall = 1.0 if kind == "flat" else ann_recall(index_dir, syn_vectors, qvecs)
                measured = measure_in_subprocess(index_dir, qs, not args.no_mmap, args.repeats)
                row = {"passages": n, "kind": kind, "mean_cos_to_source": mean_cos}
                row.update(built[kind], recall_at_10=recall, **measured)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if not args.keep:
                    shutil.rmtree(index_dir, ignore_errors=True)
            del syn_articles, syn_chunks, syn_vectors
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows, source, len(chunks), scale)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def print_table(rows: list[dict[str, object]], source: Path, real: int, scale: float) -> None:
    print(f"# {real} real passages from {source}, noise scale {scale:.3f}")
    head = (
        "| passages | kind | build s | disk MB | RSS MB | recall@10 | "
        "dense p50/p95 | keyword p50/p95 | hybrid p50/p95 | hybrid+embed p50/p95 |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:

        def ms(key: str, r: dict[str, object] = r) -> str:
            p50, p95 = r[key]  # type: ignore[misc]
            return f"{p50:.1f} / {p95:.1f}"

        print(
            f"| {r['passages']:,} | {r['kind']} | {r['build_s']:.0f} | {r['disk_mb']:.0f} | "
            f"{r['rss_mb']:.0f} | {r['recall_at_10']:.3f} | {ms('search_dense')} | "
            f"{ms('search_keyword')} | {ms('search_hybrid')} | {ms('with_embed_hybrid')} |"
        )
    if rows:
        print(
            f"# mean cosine of a perturbed copy to its source: {rows[-1]['mean_cos_to_source']:.3f}"
        )


if __name__ == "__main__":
    main()
