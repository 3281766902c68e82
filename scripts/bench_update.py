#!/usr/bin/env python3
"""Update times on a ~20k-passage archive: no-change update and update after adding one
article, with whatever ``rag`` is first on the path (``scripts/bench.py`` runs it once
with main's code and once with this checkout's, on the same archive, in one run).

    python scripts/bench_update.py synth OUT --passages 20000   # write the archive
    python scripts/bench_update.py run ARCHIVE CACHE            # one JSON line of figures

``synth`` copies ../shared/data/news-oped2 (or the sample corpus) and adds articles made
by interleaving the paragraphs of two real ones (new titles and URLs; different enough
that duplicate merging keeps them apart) until the archive has ``--passages`` passages.
It fills an embedding cache with random unit vectors for every passage, so the initial
build costs tokenising, not an hour of embedding: the updates measured embed only what
they add, with the real engine, as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

from rag import Archive, Settings

ROOT = _common.ROOT
NEW_ARTICLE = """---
title: "新增文章：增量更新基准"
date: 2024-05-01T08:00:00+08:00
from: https://example.org/bench/new-article
---

这是一篇在完整索引之后新增的文章，用来测量增量更新所需的时间。

增量更新只应读取、切分、嵌入和分词这一篇新文章，其余文章保持不变。

一个每天运行的定时任务不应为没有变化的档案花费几分钟。
"""
SECOND_ARTICLE = """---
title: "北极熊数量下降"
date: 2024-05-02T09:00:00+08:00
from: https://example.org/bench/polar-bears
---

北极熊数量在过去十年里显著下降，科学家呼吁加强保护，减少海冰融化带来的威胁。

研究人员在斯瓦尔巴群岛追踪了三百多只北极熊，发现它们的捕猎季节明显缩短。
"""


def synthesize(source: Path, out: Path, passages: int, cache: Path) -> dict[str, int]:
    """Write the archive under ``out`` and fill ``cache`` with vectors for its passages."""
    import numpy as np

    # the embedding cache filled directly, with the keys and name a build looks up
    from rag.build import chunk_articles
    from rag.embed import embedder_name
    from rag.embed.cache import EmbeddingCache, text_key
    from rag.ingest import merge_duplicates, parse_article

    settings = Settings(index_dir=out / "unused")
    shutil.copytree(source, out, dirs_exist_ok=True)
    files = sorted(p for p in source.iterdir() if p.is_file())
    originals = [parse_article(p, p.read_bytes())[0] for p in files]
    _, texts = chunk_articles(originals, settings)
    total, copy = len(texts), 0
    while total < passages:
        copy += 1
        for i, first in enumerate(originals):
            second = originals[(i + 37 * copy) % len(originals)]
            a = [p for p in first.text.split("\n") if p.strip()]
            b = [p for p in second.text.split("\n") if p.strip()]
            mixed = [p for pair in zip(a, b, strict=False) for p in pair] + a[len(b) :]
            body = "\n\n".join(mixed)
            title = f"{first.title}（合辑{copy}）"
            (out / f"mix-{copy}-{i:04d}.md").write_text(
                f'---\ntitle: "{title}"\ndate: 2020-01-{1 + i % 28:02d}T08:00:00+08:00\n'
                f"from: https://bench.example/{copy}/{i}\n---\n\n{body}\n",
                encoding="utf-8",
            )
            total += len(body) // 250  # an estimate; the real count is printed below
            if total >= passages:
                break
    paths = sorted(p for p in out.iterdir() if p.is_file())
    articles = merge_duplicates([parse_article(p, p.read_bytes())[0] for p in paths])
    _, texts = chunk_articles(articles, settings)
    rng = np.random.default_rng(0)
    name = embedder_name(settings.embedder)
    dim = 384
    vectors = rng.standard_normal((len(texts), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = EmbeddingCache(cache / "embeddings.sqlite", name, dim)
    try:
        store.put_many([text_key(t) for t in texts], vectors)
    finally:
        store.close()
    return {"files": len(paths), "articles": len(articles), "passages": len(texts)}


def cli_update(index: Path, cache: Path) -> dict[str, float]:
    """``rag index update --json`` in a new process (what a cron job pays): wall and CPU
    seconds, and what the update embedded."""
    # the child inherits PYTHONPATH: it runs the same rag as this process
    env = {**os.environ, "RAG_CACHE_DIR": str(cache)}
    command = ["index", "update", "--index", str(index), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from rag.cli import app; app()", *command],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    report = json.loads(done.stdout)
    return {"wall": wall, "cpu": cpu, "embedded": report["embedded"]}


def timed_update(settings: Settings) -> tuple[float, float]:
    """(wall, CPU) seconds of ``Archive.update`` in this process."""
    t, c = time.perf_counter(), time.process_time()
    Archive(settings).update()
    return time.perf_counter() - t, time.process_time() - c


def run(archive: Path, cache: Path, repeats: int, light: bool = False) -> dict[str, float]:
    """Build, then time no-change updates and updates adding one article.

    In this process (the modules and jieba already loaded by the build) and as a new
    ``rag index update`` process. Wall times are noisy on a loaded machine; CPU seconds
    are printed beside them. ``light`` measures only the new-process updates (main's
    code: each of its updates costs about as much as its build).
    """
    work = Path(tempfile.mkdtemp(prefix="bench-update-"))
    try:
        corpus = work / "archive"
        shutil.copytree(archive, corpus)
        private = work / "cache"
        shutil.copytree(cache, private)  # the new articles' vectors stay out of the shared one
        settings = Settings(index_dir=work / "index", cache_dir=private)
        c = time.process_time()
        built = Archive(settings).build([str(corpus)])
        build_cpu = time.process_time() - c
        figures = {
            "articles": built.articles,
            "passages": built.passages,
            "build_s": built.seconds,
            "build_cpu_s": build_cpu,
        }
        if not light:
            nochange = [timed_update(settings) for _ in range(repeats)]
            figures["nochange_s"] = statistics.median(w for w, _ in nochange)
            figures["nochange_cpu_s"] = statistics.median(c for _, c in nochange)
        nochange_cli = cli_update(settings.index_dir, private)
        figures["nochange_cli_s"] = nochange_cli["wall"]
        figures["nochange_cli_cpu_s"] = nochange_cli["cpu"]
        if not light:
            (corpus / "zz-new-article.md").write_text(NEW_ARTICLE, encoding="utf-8")
            figures["add_one_s"], figures["add_one_cpu_s"] = timed_update(settings)
        (corpus / "zz-new-article-2.md").write_text(SECOND_ARTICLE, encoding="utf-8")
        add_one_cli = cli_update(settings.index_dir, private)
        figures["add_one_cli_s"] = add_one_cli["wall"]
        figures["add_one_cli_cpu_s"] = add_one_cli["cpu"]
        figures["add_one_embedded"] = add_one_cli["embedded"]
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth")
    synth.add_argument("out", type=Path)
    synth.add_argument("--source", type=Path, default=ROOT.parent / "shared/data/news-oped2")
    synth.add_argument("--passages", type=int, default=20_000)
    synth.add_argument("--cache", type=Path, required=True)
    once = sub.add_parser("run")
    once.add_argument("archive", type=Path)
    once.add_argument("cache", type=Path)
    once.add_argument("--repeats", type=int, default=3)
    once.add_argument("--light", action="store_true", help="new-process updates only")
    args = parser.parse_args()
    if args.command == "synth":
        print(json.dumps(synthesize(args.source, args.out, args.passages, args.cache)))
    else:
        print(json.dumps(run(args.archive, args.cache, args.repeats, args.light)))


if __name__ == "__main__":
    main()
