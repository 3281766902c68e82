"""The ``rag`` command line: parse options, call one ``Archive`` method, print the result.

Nothing here is interpreted as markup: paths, titles and messages print as they are
(both consoles have markup off; styles are applied with ``rich.text.Text``).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rag.cli.common import (
    App,
    IndexOpt,
    JsonOpt,
    SinceOpt,
    SourceOpt,
    UntilOpt,
    choice_option,
    ensure_can_listen,
    err,
    error_line,
    out,
    reports_errors,
    require_extra,
)
from rag.cli.common import print_json as _print_json
from rag.cli.digest import (
    ExitCodeOpt,
    WatchOpt,
    digests_to_dict,
    exit_if_found,
    needs_checks,
    print_digests,
)
from rag.cli.feed import feed_app
from rag.config import (
    API_MAX_QUESTION_CHARS,
    BACKENDS,
    INDEX_KINDS,
    MODES,
    Settings,
    load_settings,
)
from rag.errors import ConfigError, RagError

if TYPE_CHECKING:  # the archive and its records are imported by the commands that use them
    from rag.archive import Archive
    from rag.records import (
        Answer,
        BuildReport,
        SearchFilters,
        SearchOptions,
        SearchResult,
        WatchDigest,
    )

app = App(
    help="Semantic search and cited answers over archives of Chinese news articles.\n\n"
    "The index used is index_dir: 'rag config' shows it, and every other setting with "
    "where it came from. --install-completion adds tab completion to your shell.\n\n"
    "Exit status: 0 done, 1 a failure at work (no index, a file that cannot be read), "
    "2 a usage error (a bad option, date or setting).",
    pretty_exceptions_enable=False,
)
index_app = App(help="Build, update and inspect an index.")
app.add_typer(index_app, name="index")
app.add_typer(feed_app, name="feed")


def _print_version(value: bool) -> None:
    if value:
        from rag import __version__

        out.print(f"rag {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Options of rag itself, before the command."""


WaitOpt = Annotated[float, typer.Option(help="Seconds to wait for another writer.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 1 if any file failed.")]
FollowSymlinksOpt = Annotated[
    bool,
    typer.Option(
        "--follow-symlinks",
        help="Read symlinks whose target lies outside the folders named (skipped with a "
        "warning by default).",
    ),
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Embed the new passages with Ray (needs the ray extra): 'local' starts Ray on "
        "this machine; 'auto', HOST:PORT or ray://HOST:10001 joins a running cluster.",
    ),
]
RayWorkersOpt = Annotated[
    int | None,
    typer.Option(
        help="Ray embedding workers, one CPU each [default: 0 = one per CPU of the "
        "machine (local) or the cluster]."
    ),
]


def _settings(**flags: Any) -> Settings:
    return load_settings(**{k: v for k, v in flags.items() if v is not None})


def _archive(**flags: Any) -> Archive:
    from rag.archive import open_archive

    return open_archive(**{k: v for k, v in flags.items() if v is not None})


def _filters(since: str | None, until: str | None, source: str | None) -> SearchFilters:
    """The date and source filters; a date that is not one is a usage error (exit 2)."""
    from rag.records import SearchFilters, parse_day

    for flag, value in (("--since", since), ("--until", until)):
        try:
            if value:
                parse_day(value)
        except RagError as exc:
            raise ConfigError(f"{flag}: {exc}") from None
    try:
        return SearchFilters.parse(since, until, source)
    except RagError as exc:
        raise ConfigError(f"--since/--until: {exc}") from None


def _check_question(text: str, name: str) -> None:
    """Refuse an empty question, or one longer than the HTTP API and MCP accept, before
    anything loads: embedding tens of thousands of characters costs minutes of CPU."""
    if not text.strip():
        raise ConfigError(f"{name} is empty; say what to look for")
    if len(text) > API_MAX_QUESTION_CHARS:
        raise ConfigError(
            f"{name} is {len(text):,} characters; at most {API_MAX_QUESTION_CHARS:,} are "
            "accepted (as by the HTTP API and MCP): ask about one thing, or give a few keywords"
        )


def _report(
    report: BuildReport,
    update: bool,
    as_json: bool,
    strict: bool,
    checked: tuple[WatchDigest, ...] | None = None,
) -> None:
    if as_json:
        watches = digests_to_dict(checked) if checked is not None else {}
        _print_json({**asdict(report), **({"watch": watches} if watches else {})})
    else:
        was = f" (was {report.previous_articles})" if update else ""
        verb = ("Updated" if report.published else "Checked") if update else "Built"
        out.print(
            f"{verb} {report.index_dir}: "
            f"{report.articles} articles{was}, {report.passages} passages "
            f"(added {report.added}, updated {report.updated}, removed {report.removed}, "
            f"unchanged {report.unchanged}, failed {report.failed}, "
            f"duplicates merged {report.duplicates_merged}; "
            f"embedded {report.embedded}, reused {report.reused_embeddings}) "
            f"in {report.seconds:.1f}s"
            + ("" if report.published else "; unchanged, nothing written")
        )
        if checked is not None:
            print_digests(checked)
    if strict and report.failed:
        err.print(error_line(f"{report.failed} file(s) failed (--strict)"))
        raise typer.Exit(1)


@index_app.command("build")
@reports_errors
def index_build(
    paths: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or globs.")],
    index: IndexOpt = None,
    embedder: Annotated[
        str | None, typer.Option(help="e5-small (default, bundled) or st:MODEL_NAME_OR_PATH.")
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Passage length in characters [default: 300].")
    ] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="Overlap between passages [default: 50].")
    ] = None,
    index_kind: Annotated[
        str | None,
        choice_option(
            INDEX_KINDS,
            "auto: flat below 50k passages, else ivf; flat: exact; ivf or hnsw: "
            "approximate, for large archives [default: auto].",
            "--kind",
        ),
    ] = None,
    max_file_mb: Annotated[
        float | None, typer.Option(help="Skip files larger than this many MB [default: 20].")
    ] = None,
    backend: Annotated[
        str | None,
        choice_option(
            BACKENDS,
            "local: FAISS + BM25 files; milvus: vectors in Milvus (needs the milvus "
            "extra). A rebuild keeps the index's backend [default: local].",
        ),
    ] = None,
    milvus_uri: Annotated[
        str | None,
        typer.Option(
            help="milvus backend: a *.db file (embedded milvus-lite) or http://host:19530 "
            "[default: INDEX/milvus.db]."
        ),
    ] = None,
    ray: RayOpt = None,
    ray_workers: RayWorkersOpt = None,
    follow_symlinks: FollowSymlinksOpt = False,
    strict: StrictOpt = False,
    wait: WaitOpt = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Index articles from scratch.

    The previous index stays live until this one is done.
    """
    from rag.cli.progress import RichProgress

    archive = _archive(
        index_dir=index,
        embedder=embedder,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        index_kind=index_kind,
        max_file_mb=max_file_mb,
        backend=backend,
        milvus_uri=milvus_uri,
        ray_address=ray,
        ray_workers=ray_workers,
        follow_symlinks=follow_symlinks or None,
    )
    with RichProgress(err) as progress:
        report = archive.build(paths, progress=progress, lock_wait=wait)
    _report(report, False, as_json, strict)


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
    allow_removals: Annotated[
        bool,
        typer.Option(
            "--allow-removals",
            help="Allow dropping a missing source folder, or more than half of the files.",
        ),
    ] = False,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Write one whole version, merging the delta earlier updates wrote beside "
            "the base (updates do this themselves once the delta passes 20% of the base).",
        ),
    ] = False,
    ray: RayOpt = None,
    ray_workers: RayWorkersOpt = None,
    follow_symlinks: FollowSymlinksOpt = False,
    strict: StrictOpt = False,
    wait: WaitOpt = 0.0,
    watch: WatchOpt = False,
    exit_code: ExitCodeOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add new and changed articles, drop deleted ones.

    The rest are kept as they are, their passages and vectors reused. With --watch
    --exit-code, exit 3 when a watch found something new.
    """
    from rag.cli.progress import RichProgress

    archive = _archive(
        index_dir=index,
        ray_address=ray,
        ray_workers=ray_workers,
        follow_symlinks=follow_symlinks or None,
    )
    watching = watch or archive.settings.watch_after_update
    needs_checks(exit_code, watching)
    with RichProgress(err) as progress:
        report = archive.update(
            paths or None,
            allow_removals=allow_removals,
            progress=progress,
            lock_wait=wait,
            compact=compact,
        )
    checked = archive.watches().check() if watching else None
    _report(report, True, as_json, strict, checked)
    exit_if_found(checked, exit_code)


@index_app.command("stats")
@reports_errors
def index_stats(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Show an index's folder, counts, embedder, sources and sizes."""
    stats = asdict(_archive(index_dir=index).stats())
    if as_json:
        stats["sources"] = [[s["name"], s["articles"]] for s in stats["sources"]]
        _print_json(stats)
        return
    for key, value in stats.items():
        if key == "sources":
            value = ", ".join(f"{s['name']} ({s['articles']})" for s in value) or "-"
        elif key == "source_roots":
            value = ", ".join(value) or "-"
        out.print(f"{key:>14}: {value}")


@app.command()
@reports_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Chinese or English.")],
    index: IndexOpt = None,
    k: Annotated[
        int | None, typer.Option("-k", "--top-k", help="Number of passages [default: 5].")
    ] = None,
    mode: Annotated[
        str | None,
        choice_option(
            MODES,
            "hybrid: meaning and keywords; dense: meaning; keyword: BM25 [default: hybrid].",
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    per_article: Annotated[
        int | None,
        typer.Option(help="At most this many passages from one article (0: no cap) [default: 2]."),
    ] = None,
    per_source: Annotated[
        int | None,
        typer.Option(help="At most this many passages from one outlet (0: no cap) [default: 0]."),
    ] = None,
    embedder: Annotated[
        str | None, typer.Option(help="Check the index was built with this embedder.")
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            help="Relevance threshold on the best passage's cosine; 0 always answers "
            "[default: 0.87 for Chinese questions, 0.75 for others (min_score_zh, "
            "min_score_other)]."
        ),
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
        float | None, typer.Option(help="Seconds the whole LLM answer may take [default: 60].")
    ] = None,
    llm_max_tokens: Annotated[
        int | None, typer.Option(help="Longest LLM answer, in tokens [default: 512].")
    ] = None,
    passages_only: Annotated[
        bool,
        typer.Option("--no-answer", "--passages-only", help="Only list the passages."),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Date that 上周 / last month / 去年 in the question count from, YYYY-MM-DD "
            "[default: today, or as_of].",
        ),
    ] = None,
    no_time_window: Annotated[
        bool,
        typer.Option(
            "--no-time-window",
            help="Treat time words in the question as plain words (no date filter).",
        ),
    ] = False,
    no_recency: Annotated[
        bool,
        typer.Option(
            "--no-recency",
            help="Rank by relevance alone even when the question asks for 最新 / latest news.",
        ),
    ] = False,
    follow_up: Annotated[
        bool,
        typer.Option(
            "--continue",
            help="Read QUESTION as a follow-up of the last conversation (那甲烷呢？, what "
            "about coal?): completed from its questions (by the LLM with --llm), and shown.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer QUESTION with cited sentences from the archive.

    The answer quotes the ranked passages listed below it, cited [n] (no LLM needed),
    unless --llm is given. The API key for --llm comes from RAG_LLM_API_KEY or [llm]
    api_key in the settings file. The last conversation's questions are kept for
    --continue in the user's data folder (at most 8, for 12 hours).
    """
    from rag.cli.render import print_hits
    from rag.records import SearchOptions
    from rag.serialize import answer_to_dict, followup_to_dict, search_to_dict

    _check_question(question, "QUESTION")
    archive = _archive(
        index_dir=index,
        top_k=k,
        mode=mode,
        per_article=per_article,
        per_source=per_source,
        embedder=embedder,
        llm_base_url=llm_url,
        llm_model=llm_model,
        llm_timeout=llm_timeout,
        llm_max_tokens=llm_max_tokens,
        as_of=as_of,
    )
    if min_score is not None and not 0 <= min_score <= 1:
        raise ConfigError(f"--min-score {min_score} must be between 0 and 1")
    options = SearchOptions(
        filters=_filters(since, until, source),
        min_score=min_score,
        resolve_time=not no_time_window,
        prefer_recent=not no_recency,
    )
    from rag.cli.conversation import Conversation, load_conversation, save_conversation

    earlier = load_conversation() if follow_up else Conversation()
    turns = archive.replay(earlier.questions, replace(options, as_of=earlier.as_of))
    followup = archive.follow_up(question, turns, options, llm=llm and follow_up)
    if followup.notice:
        err.print(error_line(followup.notice))
    if follow_up and not as_json:
        from rag.cli.conversation import print_followup

        print_followup(out, followup, bool(turns))
    searched = question
    if follow_up:  # a question asked on its own is searched exactly as before
        searched, options = followup.text, followup.search_options(options)
    kept = () if followup.new_topic else earlier.questions
    save_conversation(Conversation((*kept, question), followup.as_of))
    if passages_only:
        result, answer = archive.search(searched, options), None
    else:
        result, answer = _answer(archive, searched, options, llm, as_json)
    if as_json:
        data = search_to_dict(result)
        data["answer"] = answer_to_dict(answer) if answer else None
        if follow_up:
            data["follow_up"] = followup_to_dict(followup)
        _print_json(data)
    else:
        print_hits(out, result)


def _answer(
    archive: Archive, question: str, options: SearchOptions, llm: bool, as_json: bool
) -> tuple[SearchResult, Answer]:
    """The search result and cited answer; LLM tokens go to stdout unless printing JSON."""
    from rag.cli.render_answer import TokenPrinter, llm_header, print_answer

    printer = None
    if llm and not as_json:
        printer = TokenPrinter(sys.stdout, llm_header(archive.settings.llm_model))
    asked = archive.ask(question, options, llm=llm, on_token=printer)
    if printer is not None:
        printer.finish()
    answer = asked.answer
    if answer.llm_error:
        err.print(error_line(f"{answer.llm_error} (showing the extractive answer instead)"))
    if not as_json:
        streamed = printer is not None and answer.mode == "llm"
        print_answer(out, answer, streamed=streamed, passages=len(asked.result.hits))
    return asked.result, answer


@app.command()
@reports_errors
def timeline(
    query: Annotated[str, typer.Argument(help="The story, e.g. 中美气候合作.")],
    index: IndexOpt = None,
    k: Annotated[
        int | None, typer.Option("-k", help="At most this many articles [default: all].", min=1)
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="DATE", help="Date that time words in QUERY count from [default: today]."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a story's articles in date order, oldest first.

    Each article is shown with its sentence closest to QUERY.
    """
    from rag.cli.render import print_timeline
    from rag.records import SearchOptions
    from rag.serialize import timeline_to_dict

    _check_question(query, "QUERY")
    archive = _archive(index_dir=index, as_of=as_of)
    options = SearchOptions(k=k, filters=_filters(since, until, source))
    found = archive.timeline(query, options)
    if as_json:
        _print_json(timeline_to_dict(found))
    else:
        print_timeline(out, found)


@app.command()
@reports_errors
def serve(
    index: IndexOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (anything but loopback is reachable).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the HTTP API and the search page.

    The API answers at /api/search, /api/ask and the rest; the page is at /.
    """
    require_extra("serve", "rag serve", "fastapi", "uvicorn")
    from rag.web.server import serve as run

    settings = _settings(index_dir=index)
    ensure_can_listen(host, port)
    _warn_unless_loopback(host)
    err.print(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    run(settings, host=host, port=port)


def _warn_unless_loopback(host: str) -> None:
    from rag.web.server import is_loopback

    if not is_loopback(host):
        err.print(
            error_line(
                f"listening on {host}: anyone who can reach this machine can query the "
                "index (there is no authentication)",
                "warning",
                "yellow",
            )
        )


@app.command()
@reports_errors
def mcp(
    index: IndexOpt = None,
    http: Annotated[
        bool,
        typer.Option(
            "--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio."
        ),
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on with --http [default: 127.0.0.1] "
            "(anything but loopback is reachable)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="TCP port with --http [default: 8001].", min=1, max=65535),
    ] = None,
) -> None:
    """Serve the archive to MCP clients such as Claude Desktop or an IDE.

    The tools search, ask, timeline and get_article, over stdio (the client starts this
    command) or HTTP.
    """
    require_extra("mcp", "rag mcp", "mcp")
    from rag.mcp import DEFAULT_HTTP_PORT
    from rag.mcp import serve as run

    settings = _settings(index_dir=index)
    if not http:
        if host is not None or port is not None:
            raise ConfigError("--host and --port only apply with --http")
        err.print(f"serving MCP over stdio for {settings.index_dir} (Ctrl-C to stop)")
        run(settings)
        return
    host, port = host or "127.0.0.1", port or DEFAULT_HTTP_PORT
    ensure_can_listen(host, port)
    _warn_unless_loopback(host)
    err.print(f"serving MCP on http://{host}:{port}/mcp (Ctrl-C to stop)")
    run(settings, http=True, host=host, port=port)


@app.command("eval")
@reports_errors
def eval_command(
    qa_file: Annotated[
        Path,
        typer.Argument(
            help="QA file: SQuAD layout (.json, e.g. CMRC 2018) or a news question set "
            "(.jsonl: question, gold_urls, as_of, lang, answers) or conversations (.jsonl: "
            "id, turns)."
        ),
    ],
    distractors: Annotated[
        list[str] | None,
        typer.Option("--distractors", help="Extra articles indexed beside the paragraphs."),
    ] = None,
    articles: Annotated[
        list[str] | None,
        typer.Option("--articles", help="The articles a news question set asks about."),
    ] = None,
    index: Annotated[
        Path | None, typer.Option("--index", help="Work index [default: indexes/eval-<file>].")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.", min=1)] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Passage length in characters.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap between passages.")] = None,
    per_source: Annotated[
        int | None,
        typer.Option(help="Measure with at most this many passages per outlet [default: 0]."),
    ] = None,
    llm: Annotated[
        bool,
        typer.Option("--llm", help="Conversation sets: also measure follow-ups the LLM rewrote."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure retrieval quality on a question set.

    R@1/5/10, MRR@10 and nDCG@10 per mode at article and passage level. A .jsonl news
    question set is measured at article level with time words resolved (dropped or kept
    in the query) and not resolved, plus the time-window precision; one whose questions
    carry answer strings or no gold (unanswerable) is measured per language: gold article,
    answer containing the gold, and the no-answer decision. A .jsonl conversation set
    (turns with gold_urls) is measured on its follow-ups: asked alone, completed by the
    rules, by the LLM with --llm, and written out in full.
    """
    from rag.cli.progress import RichProgress
    from rag.eval.conversations import is_conversation_file
    from rag.eval.languages import is_labelled_file
    from rag.eval.retrieval import evaluate, format_table

    work = index or Path("indexes") / f"eval-{qa_file.stem}"
    settings = _settings(
        index_dir=work, chunk_size=chunk_size, chunk_overlap=chunk_overlap, per_source=per_source
    )
    if qa_file.suffix == ".jsonl" and is_conversation_file(qa_file):
        from rag.eval.conversations import evaluate_conversations, format_conversation_table

        with RichProgress(err) as progress:
            talks = evaluate_conversations(
                qa_file, settings, articles=articles or (), llm=llm, progress=progress
            )
        if as_json:
            _print_json(talks.as_dict())
        else:
            out.print(format_conversation_table(talks), markup=False, highlight=False)
        return
    if qa_file.suffix == ".jsonl" and is_labelled_file(qa_file):
        from rag.eval.languages import evaluate_languages, format_language_table

        with RichProgress(err) as progress:
            by_language = evaluate_languages(
                [qa_file], settings, articles=articles or (), progress=progress
            )
        if as_json:
            _print_json(by_language.as_dict())
        else:
            out.print(format_language_table(by_language), markup=False, highlight=False)
        return
    if qa_file.suffix == ".jsonl":
        from rag.eval.news import evaluate_news, format_news_table

        with RichProgress(err) as progress:
            news = evaluate_news(qa_file, settings, articles=articles or (), progress=progress)
        if as_json:
            _print_json(news.as_dict())
        else:
            out.print(format_news_table(news))
        return
    with RichProgress(err) as progress:
        report = evaluate(
            qa_file, settings, distractors=distractors or (), limit=limit, progress=progress
        )
    if as_json:
        _print_json(report.as_dict())
    else:
        out.print(format_table(report))


@app.command("config")
@reports_errors
def config_command(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Show every setting's value and where it came from.

    Each value comes from the first of: a flag, a RAG_* environment variable (RAG_TOP_K),
    the settings file ($RAG_CONFIG, else ./rag.toml, else config.toml in the user's
    config folder), the default. The output is itself a valid settings file; the LLM
    API key is never shown, only whether it is set.
    """
    from rag.cli.render import print_settings
    from rag.config import config_file_path

    settings = _settings(index_dir=index)
    if as_json:
        from rag.cli.render import settings_to_dict

        _print_json(settings_to_dict(settings, config_file_path()))
    else:
        print_settings(out, settings, config_file_path())


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
