"""Readable terminal output (rich) for search results and build reports."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from rag.records import Hit, SearchResult


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
