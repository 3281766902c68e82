"""The ``rag`` command line: parse options, call one library function, print the result."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from rag.config import Settings, load_settings
from rag.errors import RagError

app = typer.Typer(
    help="Semantic search and cited answers over archives of Chinese news articles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Build, update and inspect an index.", no_args_is_help=True)
app.add_typer(index_app, name="index")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # errors stay on one line

F = TypeVar("F", bound=Callable[..., Any])

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index directory [default: indexes/default].")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def reports_errors(func: F) -> F:
    """Expected problems become one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RagError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _settings(**flags: Any) -> Settings:
    return load_settings(**{k: v for k, v in flags.items() if v is not None})


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _run_build(
    paths: list[str], settings: Settings, update: bool, as_json: bool, strict: bool, wait: float
) -> None:
    from dataclasses import asdict

    from rag.cli_progress import RichProgress
    from rag.index.build import build_index

    with RichProgress(err) as progress:
        report = build_index(paths, settings, update=update, progress=progress, lock_wait=wait)
    if as_json:
        data = asdict(report)
        data["failures"] = [asdict(f) for f in report.failures]
        _print_json(data)
    else:
        out.print(
            f"{'Updated' if update else 'Built'} {report.index_dir}: "
            f"{report.articles} articles, {report.passages} passages "
            f"(added {report.added}, updated {report.updated}, removed {report.removed}, "
            f"unchanged {report.unchanged}, failed {report.failed}, "
            f"duplicates merged {report.duplicates_merged}; "
            f"embedded {report.embedded}, reused {report.reused_embeddings}) "
            f"in {report.seconds:.1f}s"
        )
    if strict and report.failed:
        err.print(f"[red]error:[/red] {report.failed} file(s) failed (--strict)")
        raise typer.Exit(1)


@index_app.command("build")
@reports_errors
def index_build(
    paths: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or globs.")],
    index: IndexOpt = None,
    embedder: Annotated[
        str | None, typer.Option(help="e5-small (default, bundled) or st:MODEL_NAME_OR_PATH.")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Passage length in characters.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap between passages.")] = None,
    index_kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="auto (default: flat below 50k passages, else ivf), flat (exact), "
            "ivf or hnsw (approximate, for large archives).",
        ),
    ] = None,
    max_file_mb: Annotated[
        float | None, typer.Option(help="Skip files larger than this many MB [default: 20].")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any file failed.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another writer.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Index articles from scratch (the previous index stays live until this one is done)."""
    settings = _settings(
        index_dir=index,
        embedder=embedder,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        index_kind=index_kind,
        max_file_mb=max_file_mb,
    )
    _run_build(paths, settings, False, as_json, strict, wait)


@index_app.command("update")
@reports_errors
def index_update(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files, folders or globs [default: the paths the index was built from]."
        ),
    ] = None,
    index: IndexOpt = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any file failed.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another writer.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Add new and changed articles, drop deleted ones, keep the rest as they are."""
    from rag.index.store import MANIFEST, IndexManifest, current_version_dir

    settings = _settings(index_dir=index)
    manifest = IndexManifest.from_file(current_version_dir(settings.index_dir) / MANIFEST)
    settings = settings.with_overrides(
        embedder=manifest.embedder,  # the recorded name is itself a valid spec
        chunk_size=manifest.chunk_size,
        chunk_overlap=manifest.chunk_overlap,
        index_kind=manifest.index_kind,
    )
    _run_build(paths or [], settings, True, as_json, strict, wait)


@index_app.command("stats")
@reports_errors
def index_stats(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Counts of articles and passages, the embedder, sources and sizes on disk."""
    from rag.index.stats import index_stats as compute

    stats = compute(_settings(index_dir=index).index_dir)
    if as_json:
        _print_json(stats)
        return
    for key, value in stats.items():
        if key == "sources":
            value = ", ".join(f"{name} ({n})" for name, n in value) or "-"
        out.print(f"{key:>14}: {value}")


@app.command()
@reports_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Chinese or English.")],
    index: IndexOpt = None,
    k: Annotated[int | None, typer.Option("-k", "--top-k", help="Number of passages.")] = None,
    mode: Annotated[str | None, typer.Option(help="hybrid (default), dense or keyword.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only articles published on/after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only articles published on/before YYYY-MM-DD.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Only articles whose source/URL contains this.")
    ] = None,
    per_article: Annotated[
        int | None, typer.Option(help="At most this many passages from one article (0: no cap).")
    ] = None,
    embedder: Annotated[
        str | None, typer.Option(help="Check the index was built with this embedder.")
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(help="Relevance threshold on cosine (0: always show passages)."),
    ] = None,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Have an OpenAI-compatible LLM write the answer (streamed); if it fails, "
            "the extractive answer is shown and the exit code stays 0.",
        ),
    ] = False,
    llm_url: Annotated[
        str | None, typer.Option(help="LLM base URL, e.g. http://127.0.0.1:11434/v1.")
    ] = None,
    llm_model: Annotated[str | None, typer.Option(help="LLM model name.")] = None,
    llm_timeout: Annotated[
        float | None, typer.Option(help="Seconds the whole LLM answer may take.")
    ] = None,
    passages_only: Annotated[
        bool,
        typer.Option("--no-answer", "--passages-only", help="Only list the passages."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer QUESTION with sentences cited \\[n] from the ranked passages listed below it.

    The answer quotes the passages (no LLM needed) unless --llm is given. The API key for
    --llm comes from RAG_LLM_API_KEY or \\[llm] api_key in the settings file.
    """
    from rag.render import print_hits
    from rag.retrieve import SearchFilters, open_index
    from rag.serialize import search_to_dict

    settings = _settings(
        index_dir=index,
        top_k=k,
        mode=mode,
        per_article=per_article,
        llm_base_url=llm_url,
        llm_model=llm_model,
        llm_timeout=llm_timeout,
    )
    if k is not None and k < 1:
        raise RagError("-k must be at least 1")
    filters = SearchFilters.parse(since, until, source)
    reader = open_index(settings, expect_embedder=embedder)
    threshold = (
        min_score if min_score is not None else (settings.min_score_zh, settings.min_score_other)
    )
    result = reader.search(
        question, settings.top_k, settings.mode, settings.per_article, filters, threshold
    )
    answer = None if passages_only else _answer(question, result, reader, settings, llm, as_json)
    if as_json:
        from rag.serialize import answer_to_dict

        data = search_to_dict(result)
        data["answer"] = answer_to_dict(answer) if answer else None
        _print_json(data)
    else:
        print_hits(out, result)


def _answer(
    question: str, result: Any, reader: Any, settings: Settings, llm: bool, as_json: bool
) -> Any:
    """The cited answer; LLM tokens go to stdout as they arrive unless printing JSON."""
    from rag.answer import answer_question
    from rag.render_answer import TokenPrinter, llm_header, print_answer

    printer = None if as_json else TokenPrinter(sys.stdout, llm_header(settings.llm_model))
    answer = answer_question(question, result, reader.embedder, settings, llm, printer)
    if printer is not None:
        printer.finish()
    if "llm_error" in answer.extra:
        err.print(
            f"error: {answer.extra['llm_error']} (showing the extractive answer instead)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if not as_json:
        streamed = printer is not None and answer.mode == "llm"
        print_answer(out, answer, streamed=streamed, passages=len(result.hits))
    return answer


@app.command()
@reports_errors
def serve(
    index: IndexOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (anything but loopback is reachable).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the HTTP API (/api/search, /api/ask, ...) and the search page at /."""
    from rag.web.server import is_loopback
    from rag.web.server import serve as run

    if not is_loopback(host):
        err.print(
            f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach this "
            "machine can query the index (there is no authentication)"
        )
    err.print(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    run(_settings(index_dir=index), host=host, port=port)


def main() -> None:
    """Console-script entry point."""
    app()


@app.command("eval")
@reports_errors
def eval_command(
    qa_file: Annotated[Path, typer.Argument(help="QA file in SQuAD layout (e.g. CMRC 2018).")],
    distractors: Annotated[
        list[str] | None,
        typer.Option("--distractors", help="Extra articles indexed beside the paragraphs."),
    ] = None,
    index: Annotated[
        Path | None, typer.Option("--index", help="Work index [default: indexes/eval-<file>].")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Passage length in characters.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap between passages.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure R@1/5/10, MRR@10 and nDCG@10 per mode at article and passage level."""
    from rag.cli_progress import RichProgress
    from rag.evaluate import evaluate, format_table

    work = index or Path("indexes") / f"eval-{qa_file.stem}"
    settings = _settings(index_dir=work, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    with RichProgress(err) as progress:
        report = evaluate(
            qa_file, settings, distractors=distractors or (), limit=limit, progress=progress
        )
    if as_json:
        _print_json(report.as_dict())
    else:
        out.print(format_table(report))
