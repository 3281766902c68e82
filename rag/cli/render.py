"""Readable terminal output (rich) for search results and build reports.

On a terminal, long lines wrap at its width, passages indented under their header; when
stdout is a file or a pipe, each passage stays on one line for grep and scripts (--json
is the machine-readable form).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text

from rag.config import (
    DEFAULT_ORIGIN,
    SECRET_SETTINGS,
    SETTING_NAMES,
    Settings,
    config_file_candidates,
)
from rag.records import Hit, SearchResult, Timeline

INDENT = 4


def display_url(url: str) -> str:
    """``url`` with its percent-escapes decoded for reading (生态, not %E7%94%9F%E6%80%81);
    unchanged when decoding would show spaces, control or invisible characters."""
    try:
        decoded = unquote(url, errors="strict")
    except UnicodeDecodeError:
        return url
    readable = all(ch.isprintable() and not ch.isspace() for ch in decoded)
    return decoded if readable else url


# Where a line may break: around any CJK character and at spaces, never inside a Latin
# word or URL, never before closing punctuation (，。）」) or a citation [n], nor after
# opening punctuation (（「“); a no-break space (\xa0) holds its neighbours together.
_WIDE = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0002ffff"
_OPEN = "（《「『【〔〈“‘([{"
_CLOSE = "，。、；：！？）》」』】〕〉”’…·%,.;:!?)]}"
_OPENING, _CLOSING = re.escape(_OPEN), re.escape(_CLOSE)
_TOKEN = re.compile(
    rf"[^\S\xa0]+|[{_OPENING}]*(?:[{_WIDE}]|(?:[^\s{_WIDE}{_OPENING}]|\xa0)+)"
    rf"(?:[{_CLOSING}]|\[\d+\])*|\S"
)


def line_starts(plain: str, width: int) -> list[int]:
    """Offsets in ``plain`` where its lines after the first start when it is filled to
    ``width`` terminal cells (CJK characters are two); a word wider than that is folded."""
    starts: list[int] = []
    used = 0
    for token in _TOKEN.finditer(plain):
        cells = cell_len(token.group())
        if token.group().isspace() or used + cells <= width:
            used += cells  # spaces never start a line: the line's end is trimmed instead
        else:
            at, used = token.start(), 0
            if at > (starts[-1] if starts else 0):
                starts.append(at)
            for offset, char in enumerate(token.group(), token.start()):
                char_cells = cell_len(char)
                if used + char_cells > width and used:
                    starts.append(offset)
                    used = 0
                used += char_cells
    return starts


def print_wrapped(
    console: Console, text: Text, indent: int = 0, hanging: int | None = None
) -> None:
    """``text`` filled to the terminal's width, its first line under ``indent`` spaces and
    the rest under ``hanging`` (default: the same); one line off a terminal."""
    if not console.is_terminal:
        console.print(Text(" " * indent) + text if indent else text, soft_wrap=True)
        return
    rest = indent if hanging is None else hanging
    width = max(console.width - max(indent, rest), 20)
    for paragraph in text.split("\n", allow_blank=True):
        for number, line in enumerate(paragraph.divide(line_starts(paragraph.plain, width))):
            line.rstrip()
            margin = Text(" " * (rest if number else indent))
            console.print(margin + line if line else line, soft_wrap=True)


def _date(hit: Hit) -> str:
    return hit.article.published.date().isoformat() if hit.article.published else "date unknown"


def print_hit(console: Console, hit: Hit) -> None:
    """One hit: rank, title and similarity; date, outlet and URL; then the passage."""
    header = Text()
    header.append(f"[{hit.rank}] ", style="bold cyan")
    header.append(hit.article.title or "(untitled)", style="bold")
    header.append(f"  similarity\xa0{hit.score:.3f}", style="dim")
    print_wrapped(console, header, hanging=INDENT)
    where = Text(f"{_date(hit)} · {hit.article.source or 'unknown source'}", style="green")
    if len(hit.article.urls) > 1:
        where.append(f" (+{len(hit.article.urls) - 1} more copies)", style="dim")
    print_wrapped(console, where, INDENT)
    if hit.article.url:
        link = Style(color="blue", underline=True, link=hit.article.url)
        print_wrapped(console, Text(display_url(hit.article.url), style=link), INDENT)
    text = Text(hit.chunk.text.replace("\n", " "))
    if hit.highlight:
        text.stylize("bold yellow", *hit.highlight)
    print_wrapped(console, text, INDENT)
    console.print()


def print_legend(console: Console, result: SearchResult) -> None:
    """Below the passages, what their order and the number beside each mean: the order is
    the ranking's (fused for hybrid), the number the passage's cosine, so they can differ."""
    how = {"hybrid": "meaning and keywords", "dense": "meaning", "keyword": "keywords"}
    line = f"Ranked by {how.get(result.mode, result.mode)} ({result.mode}); "
    line += "similarity: cosine with the question."
    print_wrapped(console, Text(line, style="dim"))


def print_hits(console: Console, result: SearchResult) -> None:
    window = result.time_window
    if window is not None:
        line = (
            f"时间范围 {window.start.isoformat()} – {window.end.isoformat()} ({window.expression})"
        )
        print_wrapped(console, Text(line, style="cyan"))
        if result.outside_window:
            print_wrapped(
                console,
                Text(
                    "Nothing relevant in that window; the passages below are from outside it.",
                    style="yellow",
                ),
            )
    if result.recency and result.found:
        print_wrapped(
            console,
            Text(
                f"{result.recency} → the newest of the most relevant passages first "
                "(--no-recency: by relevance alone)",
                style="cyan",
            ),
        )
    if result.names_read:
        read = "; ".join(f"{latin} = {chinese}" for latin, chinese in result.names_read)
        print_wrapped(console, Text(f"Names as the passages write them: {read}", style="cyan"))
    if not result.hits:
        print_wrapped(console, Text(result.notice or "No passage found.", style="yellow"))
        return
    if result.no_answer:
        print_wrapped(
            console,
            Text(
                f"No answer found: {result.notice}. The closest passages, for reference only:",
                style="yellow",
            ),
        )
    for hit in result.hits:
        print_hit(console, hit)
    print_legend(console, result)


def print_timeline(console: Console, timeline: Timeline) -> None:
    """Oldest first, per article: date, outlet, title, URL, then its best sentence."""
    if not timeline.entries:
        print_wrapped(console, Text(timeline.notice or "No article found.", style="yellow"))
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
        print_wrapped(console, line, hanging=INDENT)
        if hit.article.url:
            link = Style(color="blue", link=hit.article.url)
            print_wrapped(console, Text(display_url(hit.article.url), style=link), INDENT)
        start, end = hit.highlight or (0, len(hit.chunk.text))
        print_wrapped(console, Text(hit.chunk.text[start:end].replace("\n", " ")), INDENT)
        console.print()


def _setting_value(settings: Settings, name: str) -> Any:
    value = getattr(settings, name)
    if name in SECRET_SETTINGS:
        return "(set, not shown)" if value else ""
    return str(value) if isinstance(value, Path) else value


def settings_to_dict(settings: Settings, settings_file: Path | None) -> dict[str, Any]:
    """``rag config --json``: the settings file in use, then each setting's value and origin."""
    return {
        "settings_file": str(settings_file.absolute()) if settings_file else None,
        "settings": {
            name: {"value": _setting_value(settings, name), "origin": settings.origin(name)}
            for name in SETTING_NAMES
        },
    }


def print_settings(console: Console, settings: Settings, settings_file: Path | None) -> None:
    """Every setting as a line of TOML, its origin as a comment after it."""
    if settings_file is not None:
        console.print(Text(f"# settings file: {settings_file.absolute()}", style="dim"))
    else:
        looked = ", ".join(
            p.as_posix() if p.is_absolute() else f"./{p}" for p in config_file_candidates()
        )
        console.print(Text(f"# no settings file ({looked}; or set RAG_CONFIG)", style="dim"))
    for name in SETTING_NAMES:
        value = _setting_value(settings, name)
        line = Text(f"{name} = ")
        if value is None or (name in SECRET_SETTINGS and value):
            line = Text(f"# {name} is {'set, not shown' if value else 'not set'}", style="dim")
        elif isinstance(value, bool):
            line.append("true" if value else "false")
        elif isinstance(value, str):
            line.append(json.dumps(value, ensure_ascii=False))
        else:
            line.append(repr(value))
        style = "dim" if settings.origin(name) == DEFAULT_ORIGIN else "cyan"
        line.append(f"  # {settings.origin(name)}", style=style)
        print_wrapped(console, line)
