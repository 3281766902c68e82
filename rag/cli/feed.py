"""``rag feed``: subscribe to RSS/Atom feeds and pull their new articles into the index.

Each command calls one ``rag.feeds`` function and prints what it returns: results on
stdout (``--json``: one object), progress and problems on stderr.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.common import App, IndexOpt, JsonOpt, err, error_line, out, print_json, reports_errors
from rag.cli.digest import (
    ExitCodeOpt,
    WatchOpt,
    check_watches,
    digests_to_dict,
    exit_if_found,
    needs_checks,
    print_digests,
)
from rag.config import load_settings

if TYPE_CHECKING:
    from rag.feeds import Feed, PullReport

feed_app = App(
    help="Subscribe to RSS/Atom feeds and pull their articles in.\n\n"
    "'rag feed pull' saves each new item's page and updates the index."
)

UrlArg = Annotated[str, typer.Argument(help="The feed's http(s) address (RSS or Atom).")]


@feed_app.command("add")
@reports_errors
def feed_add(
    url: UrlArg,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="Folder the feed's articles are saved in "
            "[default: <index>-feeds/<host>-<hash> beside the index].",
        ),
    ] = None,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private",
            help="The feed's own server may be on this machine or a private network "
            "(loopback, private, link-local addresses); pages it links to elsewhere must "
            "still be on public addresses. Adding a feed again with it allows an existing one.",
        ),
    ] = False,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe the index to a feed.

    Nothing is fetched until 'rag feed pull'.
    """
    from rag.feeds import add_feed

    feed, new = add_feed(load_settings(index_dir=index), url, archive, allow_private=allow_private)
    private = "; its server may be on a private address" if feed.allow_private else ""
    if as_json:
        print_json(asdict(feed))
    elif new:
        out.print(f"Subscribed to {feed.url}; its articles go to {feed.archive}{private}")
    else:
        out.print(f"Already subscribed to {feed.url} (articles in {feed.archive}){private}")


@feed_app.command("list")
@reports_errors
def feed_list(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the index's feeds.

    Each with its archive folder, the articles saved, the last pull and its outcome.
    """
    from rag.feeds import list_feeds

    feeds = list_feeds(load_settings(index_dir=index))
    if as_json:
        print_json({"feeds": [asdict(f) for f in feeds]})
        return
    if not feeds:
        out.print("No feeds; add one with 'rag feed add URL'")
    for feed in feeds:
        _print_feed(feed)


def _print_feed(feed: Feed) -> None:
    title = f" ({feed.title})" if feed.title else ""
    out.print(f"{feed.url}{title}")
    out.print(f"    archive: {feed.archive}, {feed.saved_items} articles saved")
    if feed.allow_private:
        out.print("    its server may be on a private address (--allow-private)")
    pulled = f"{feed.last_pulled}: {feed.last_status}" if feed.last_pulled else "never"
    out.print(f"    last pull: {pulled}")


@feed_app.command("remove")
@reports_errors
def feed_remove(url: UrlArg, index: IndexOpt = None) -> None:
    """Unsubscribe from a feed.

    Articles already saved stay in their folder and in the index.
    """
    from rag.feeds import remove_feed

    feed = remove_feed(load_settings(index_dir=index), url)
    out.print(f"Unsubscribed from {feed.url}; its articles stay in {feed.archive}")


@feed_app.command("pull")
@reports_errors
def feed_pull(
    index: IndexOpt = None,
    no_index: Annotated[
        bool,
        typer.Option("--no-index", help="Only save the new articles; the next pull indexes them."),
    ] = False,
    watch: WatchOpt = False,
    exit_code: ExitCodeOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch every feed, save the new pages, then update the index.

    Each new item's page is saved beside the feed's other articles. Each failed feed or
    page is one line on stderr and the rest goes on; a page that cannot be used is
    replaced by the feed's own text. Exit code 1 when every feed failed or the index
    could not be updated, else 0 (with --watch --exit-code: 3 when a watch found
    something new).
    """
    from rag.cli.progress import RichProgress
    from rag.feeds import pull_feeds

    settings = load_settings(index_dir=index)
    watching = watch or settings.watch_after_update
    needs_checks(exit_code, watching)
    with RichProgress(err) as progress:
        report = pull_feeds(settings, index=not no_index, progress=progress)
    checked = None
    if watching and not report.index.error:
        checked = check_watches(Path(settings.index_dir))
    if as_json:
        watches = {"watch": digests_to_dict(checked)} if checked is not None else {}
        print_json({**asdict(report), **watches})
    else:
        _print_report(report)
        if checked is not None:
            print_digests(checked)
    if report.index.error:
        err.print(error_line(f"index not updated: {report.index.error}"))
    if report.all_feeds_failed:
        err.print(error_line(f"all {len(report.feeds)} feed(s) failed"))
    if report.all_feeds_failed or report.index.error:
        raise typer.Exit(1)
    exit_if_found(checked, exit_code)


def _print_report(report: PullReport) -> None:
    not_modified = sum(1 for f in report.feeds if f.status == "not_modified")
    out.print(
        f"Pulled {len(report.feeds)} feed(s) ({not_modified} not modified, "
        f"{report.feeds_failed} failed): {report.new_items} new item(s), "
        f"{report.pages_saved} page(s) saved, {report.fallbacks} fallback(s) to the feed's "
        f"text, {report.failed_items} failed, in {report.seconds:.1f}s"
    )
    change = report.index
    if change.action in ("built", "updated"):
        out.print(
            f"Index {change.index_dir} {change.action}: {change.articles_after} articles "
            f"(was {change.articles_before})"
        )
    elif change.action == "unchanged":
        out.print(f"Index {change.index_dir}: nothing new ({change.articles_after} articles)")
    elif change.action == "skipped" and change.articles_before is None:
        saved = report.pages_saved + report.fallbacks
        later = "; the next pull indexes the new articles" if saved else ""
        out.print(f"Index not updated (--no-index){later}")
    elif change.action == "skipped":
        out.print(f"Index {change.index_dir}: no article saved yet")
