"""``rag watch``: saved questions, checked after each update for new relevant stories."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from rag.cli.commands import app
from rag.cli.common import App, IndexOpt, JsonOpt, out, print_json, reports_errors
from rag.cli.digest import (
    ExitCodeOpt,
    check_watches,
    digests_to_dict,
    exit_if_found,
    print_digests,
)
from rag.errors import ConfigError, RagError
from rag.records import Watch, parse_day
from rag.serialize import watch_digest_to_dict, watch_to_dict

watch_app = App(
    help="Watch questions: each check reports the new relevant stories.\n\n"
    "A watch is a saved question; 'rag watch check' (or --watch on 'rag feed pull' and "
    "'rag index update') reports the articles it has not shown yet that are relevant to it, "
    "newest first, each with its title, date, outlet, URL and best sentence."
)
app.add_typer(watch_app, name="watch")

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The watch's name.")]


@watch_app.command("add")
@reports_errors
def watch_add(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="The question to watch.")],
    name: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Its name [default: the question's words]."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Report the articles published on/after YYYY-MM-DD at the first check "
            "[default: only what arrives from now on].",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(metavar="SITE", help="Only articles from this outlet.")
    ] = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a question to watch; what is archived now counts as seen.

    Name it with --name (by default the question's words make the name).
    """
    from rag.archive import open_archive

    if not question.strip():
        raise ConfigError("QUESTION is empty; say what to watch")
    try:
        day = parse_day(since).date() if since else None
    except RagError as exc:
        raise ConfigError(f"--since: {exc}") from None
    with open_archive(**({"index_dir": index} if index is not None else {})) as archive:
        watch = archive.watches().add(question, name=name, since=day, source=source)
    if as_json:
        print_json(watch_to_dict(watch))
        return
    start = f"articles published since {day}" if day else "what arrives from now on"
    out.print(
        Text(f"Watching {watch.question!r} as {watch.name}: 'rag watch check' reports {start}")
    )


@watch_app.command("list")
@reports_errors
def watch_list(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the watches, their last check and how much each reported."""
    from rag.archive import open_archive

    with open_archive(**({"index_dir": index} if index is not None else {})) as archive:
        watches = archive.watches().list()
    if as_json:
        print_json({"watches": [watch_to_dict(w) for w in watches]})
        return
    if not watches:
        out.print("No watch yet; 'rag watch add QUESTION' adds one")
    for watch in watches:
        out.print(_watch_line(watch))


def _watch_line(watch: Watch) -> Text:
    line = Text(watch.name, style="bold")
    line.append(f"  {watch.question}")
    extra = [f"source {watch.source}"] if watch.source else []
    extra += [f"since {watch.since}"] if watch.since else []
    checked = watch.last_checked.strftime("%Y-%m-%d %H:%M UTC") if watch.last_checked else "never"
    extra += [f"checked {checked}", f"{watch.reported} reported"]
    line.append(f"  ({', '.join(extra)})", style="dim")
    return line


@watch_app.command("remove")
@reports_errors
def watch_remove(name: NameArg, index: IndexOpt = None) -> None:
    """Forget a watch and what it has shown."""
    from rag.archive import open_archive

    with open_archive(**({"index_dir": index} if index is not None else {})) as archive:
        watch = archive.watches().remove(name)
    out.print(Text(f"Removed the watch {watch.name} ({watch.question})"))


@watch_app.command("check")
@reports_errors
def watch_check(
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="One watch [default: every watch].")
    ] = None,
    exit_code: ExitCodeOpt = False,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report each watch's new relevant stories; they count as shown.

    A story is new to a watch when its article was not in the archive at the watch's
    last check, or its text changed since. Exit code 0 (with --exit-code: 3 when
    something new was found), 1 on an error.
    """
    digests = check_watches(index, name)
    if as_json:
        print_json(digests_to_dict(digests))
    else:
        print_digests(digests)
    exit_if_found(digests, exit_code)


@watch_app.command("show")
@reports_errors
def watch_show(
    name: NameArg,
    limit: Annotated[int, typer.Option(min=1, help="At most this many items.")] = 20,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what a watch reported last, without checking."""
    from rag.archive import open_archive

    with open_archive(**({"index_dir": index} if index is not None else {})) as archive:
        digest = archive.watches().latest(name, limit)
    if as_json:
        print_json(watch_digest_to_dict(digest))
    else:
        print_digests([digest], shown=True)
