"""Readable terminal output (rich) for search results and build reports."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from rag.records import Hit, SearchResult, Timeline


def _date(hit: Hit) -> str:
    return hit.article.published.date().isoformat() if hit.article.published else "date unknown"


def hit_text(hit: Hit) -> Text:
    """One hit: a header line with rank, score and citation, then the passage."""
    out = Text()
    out.append(f"[{hit.rank}] ", style="bold cyan")
    out.append(hit.article.title or "(untitled)", style="bold")
    out.append(f"  score {hit.score:.3f}\n", style="dim")
    out.append(f"    {_date(hit)} · {hit.article.source or 'unknown source'}", style="green")
    if hit.article.url:
        out.append(f" · {hit.article.url}", style="blue underline")
    if len(hit.article.urls) > 1:
        out.append(f" (+{len(hit.article.urls) - 1} more copies)", style="dim")
    out.append("\n    ")
    text = hit.chunk.text.replace("\n", " ")
    if hit.highlight:
        s, e = hit.highlight
        out.append(text[:s])
        out.append(text[s:e], style="bold yellow")
        out.append(text[e:])
    else:
        out.append(text)
    out.append("\n")
    return out


def print_hits(console: Console, result: SearchResult) -> None:
    window = result.time_window
    if window is not None:
        line = (
            f"时间范围 {window.start.isoformat()} – {window.end.isoformat()} ({window.expression})"
        )
        console.print(Text(line, style="cyan"))
        if result.outside_window:
            console.print(
                Text(
                    "Nothing relevant in that window; the passages below are from outside it.",
                    style="yellow",
                )
            )
    if result.recency and result.found:
        console.print(
            Text(
                f"{result.recency} → the newest of the most relevant passages first "
                "(--no-recency: by relevance alone)",
                style="cyan",
            )
        )
    if not result.hits:
        console.print(Text(result.notice or "No passage found.", style="yellow"))
        return
    if result.no_answer:
        console.print(
            Text(
                f"No answer found: {result.notice}. The closest passages, for reference only:",
                style="yellow",
            )
        )
    for hit in result.hits:
        console.print(hit_text(hit))


def print_timeline(console: Console, timeline: Timeline) -> None:
    """One line per article, oldest first: date, outlet, title, URL, its best sentence."""
    if not timeline.entries:
        console.print(Text(timeline.notice or "No article found.", style="yellow"))
        return
    for entry in timeline.entries:
        hit = entry.hit
        line = Text()
        line.append(
            entry.published.date().isoformat() if entry.published else "date unknown", style="green"
        )
        line.append(f"  {hit.article.source or 'unknown source'}  ", style="dim")
        line.append(hit.article.title or "(untitled)", style="bold")
        if entry.also_reported_by:
            line.append(f"  (also reported by {', '.join(entry.also_reported_by)})", style="dim")
        if hit.article.url:
            line.append(f"\n    {hit.article.url}", style="blue")
        start, end = hit.highlight or (0, len(hit.chunk.text))
        line.append("\n    " + hit.chunk.text[start:end].replace("\n", " ") + "\n")
        console.print(line)
