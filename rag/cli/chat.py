"""``rag chat``: a conversation with the archive, each question read against those before.

On a terminal it prompts with readline editing and history (this session's questions
only); ``/new`` starts a new topic, ``/quit`` or Ctrl-D ends. Piped, it reads one question
per line from standard input, so a script can send a conversation in. Every answer is
printed as ``rag ask`` prints it, after the line that says what was searched.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from rag.cli.commands import _answer, _archive, _check_question, _filters, app
from rag.cli.common import (
    IndexOpt,
    JsonOpt,
    SinceOpt,
    SourceOpt,
    UntilOpt,
    err,
    error_line,
    out,
    reports_errors,
)
from rag.errors import RagError
from rag.records import SearchOptions, Turn

PROMPT = "问> "
NEW_TOPIC = ("/new", "/新话题")
QUIT = ("/quit", "/exit")


@app.command()
@reports_errors
def chat(
    index: IndexOpt = None,
    k: Annotated[
        int | None, typer.Option("-k", "--top-k", help="Number of passages [default: 5].")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Have the configured LLM complete follow-ups and write the answers.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ask question after question; a follow-up leans on the ones before.

    Each follow-up is completed from the conversation and the completed question is
    shown before its answer (检索：...). /new starts a new topic, /quit or Ctrl-D ends.
    Piped, one question per line is read from standard input; --json then prints one
    JSON object per question.
    """
    from rag.cli.conversation import print_followup
    from rag.cli.render import print_hits
    from rag.serialize import answer_to_dict, followup_to_dict, search_to_dict

    archive = _archive(index_dir=index, top_k=k)
    base = SearchOptions(filters=_filters(since, until, source))
    turns: list[Turn] = []
    failed = False
    for line in _questions(interactive=sys.stdin.isatty()):
        question = line.strip()
        if not question:
            continue
        if question in QUIT:
            break
        if question in NEW_TOPIC:
            turns = []
            if not as_json:
                out.print("新话题 (new topic)", style="cyan")
            continue
        try:
            _check_question(question, "the question")
            followup = archive.follow_up(question, turns, base, llm=llm)
            if followup.notice:
                err.print(error_line(followup.notice))
            if not as_json:
                print_followup(out, followup, bool(turns))
            options = followup.search_options(base)
            result, answer = _answer(archive, followup.text, options, llm, as_json)
        except RagError as exc:
            err.print(error_line(str(exc)))
            failed = True
            continue
        turns.append(followup.turn(result, options))
        if as_json:
            data = search_to_dict(result)
            data["answer"] = answer_to_dict(answer)
            data["follow_up"] = followup_to_dict(followup)
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")  # JSON lines
            sys.stdout.flush()
        else:
            print_hits(out, result)
    if failed:
        raise SystemExit(1)


def _questions(interactive: bool) -> Iterator[str]:
    """Lines typed at the prompt (with readline history), or read from a pipe."""
    if not interactive:
        yield from sys.stdin
        return
    import contextlib

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  line editing and this session's history for input()
    err.print("Ask a question; a follow-up leans on the ones before. /new: new topic, Ctrl-D: end.")
    while True:
        try:
            yield input(PROMPT)
        except EOFError:
            print(file=sys.stderr)
            return
        except KeyboardInterrupt:
            print(file=sys.stderr)
            continue
