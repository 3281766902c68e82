"""Watch digests in the terminal: what each check found, and the checks run after an
update (``rag feed pull --watch``, ``rag index update --watch``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from rag.cli.common import out
from rag.cli.render import display_url
from rag.errors import ConfigError
from rag.records import WatchDigest, WatchItem
from rag.serialize import watch_check_to_dict

WatchOpt = Annotated[
    bool,
    typer.Option(
        "--watch",
        help="Then check every watch and print what is new [default: watch_after_update].",
    ),
]
# With --exit-code, a check that found something new exits with this (0: nothing new).
FOUND_EXIT_CODE = 3
ExitCodeOpt = Annotated[
    bool,
    typer.Option(
        "--exit-code",
        help=f"Exit {FOUND_EXIT_CODE} when a check found something new (0 when nothing was).",
    ),
]


def check_watches(index: Path | None, name: str | None = None) -> tuple[WatchDigest, ...]:
    """Check one watch of the index, or all of them."""
    from rag.archive import open_archive

    with open_archive(**({"index_dir": index} if index is not None else {})) as archive:
        return archive.watches().check(name)


def needs_checks(exit_code: bool, watching: bool) -> None:
    """``--exit-code`` on a pull or update tells what the checks found: without them it
    is a usage error, found before any work."""
    if exit_code and not watching:
        raise ConfigError(
            "--exit-code tells whether the watches found something new; add --watch "
            "(or set watch_after_update = true)"
        )


def exit_if_found(digests: Sequence[WatchDigest] | None, exit_code: bool) -> None:
    """With ``--exit-code``, exit FOUND_EXIT_CODE when a check found something new; a
    command without the flag keeps its exit code, so cron stays quiet."""
    if exit_code and digests and any(d.items for d in digests):
        raise typer.Exit(FOUND_EXIT_CODE)


def digests_to_dict(digests: Sequence[WatchDigest]) -> dict[str, Any]:
    return watch_check_to_dict(digests)


def print_digests(digests: Sequence[WatchDigest], *, shown: bool = False) -> None:
    """Each watch's new stories, newest first, numbered as citations; ``shown`` for the
    items a watch reported before (``rag watch show``)."""
    if not digests:
        out.print("No watch yet; 'rag watch add QUESTION' adds one")
    for digest in digests:
        watch = digest.watch
        header = Text(f"{watch.name}", style="bold")
        header.append(f"  {watch.question}")
        count = len(digest.items)
        if shown:
            header.append(f": {count} item(s) reported last", style="dim")
        elif count:
            header.append(f": {count} new stor{'y' if count == 1 else 'ies'}", style="green")
        else:
            header.append(": nothing new", style="dim")
        out.print(header)
        for number, item in enumerate(digest.items, 1):
            _print_item(number, item)


def _print_item(number: int, item: WatchItem) -> None:
    day = item.published.date().isoformat() if item.published else "undated"
    line = Text(f"  [{number}] {day}  ")
    line.append(item.outlet or "unknown outlet", style="cyan")
    line.append("  ")
    line.append(item.title, style="bold")
    out.print(line)
    out.print(Text(f"      {item.sentence}"))
    if item.url:
        out.print(Text(f"      {display_url(item.url)}", style="blue"))
    if item.also_reported_by:
        out.print(Text(f"      also reported by {', '.join(item.also_reported_by)}", style="dim"))
