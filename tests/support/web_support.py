"""Helpers for the web tests: a hostile article, a server on a free port, index ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from rag.index.store import VERSIONS
from support.sample import SAMPLE

RFI = "000_ea12142fd580669e.txt"  # the COP28 article the sample question is about
HOSTILE_TITLE = '<img src=x onerror="window.__xss=1">气候声明'
# Escaped in the HTML, so after cleaning the article text holds these characters
# literally: exactly what a page must show as text and never parse.
HOSTILE_HTML = (
    "<p>编者按：&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt; 与 "
    "&lt;img src=x onerror=alert(1)&gt; 都应原样显示为文字。全球盘点决定仍是焦点。</p>"
)
HOSTILE_MARKERS = ("<script>window.__xss=1;alert(1)</script>", "<img src=x onerror=alert(1)>")


def write_hostile_article(directory: Path) -> Path:
    """A copy of the RFI sample with markup-looking text in its title and a paragraph,
    and a ``javascript:`` URL."""
    raw = (SAMPLE / RFI).read_text(encoding="utf-8")
    head, sep, body = raw.partition("<p><strong>")
    head = head.replace("[中美气候合作声明有何新意？]", f"[{HOSTILE_TITLE}]", 1)
    head = head.replace("(https://www.rfi.fr/", "(javascript:alert(1)//https://www.rfi.fr/", 1)
    path = directory / "hostile.txt"
    path.write_text(head + HOSTILE_HTML + sep + body, encoding="utf-8")
    return path


def version_article_ids(index_dir: Path, version: str) -> set[str]:
    """The article ids one published version holds (read straight from its metadata)."""
    db = index_dir / VERSIONS / version / "meta.sqlite"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM articles")}
    finally:
        conn.close()


def iter_json_lines(text: str) -> Iterator[str]:
    yield from (line for line in text.splitlines() if line.strip())


SYNDICATED_HOST = "www.zaobao.com.sg"


def write_syndicated_copy(directory: Path) -> Path:
    """The RFI sample saved a second time from another outlet (same text, another URL and
    a later timestamp), as a feed that republishes wire copy would save it."""
    raw = (SAMPLE / RFI).read_text(encoding="utf-8")
    copy = raw.replace("(https://www.rfi.fr/", f"(https://{SYNDICATED_HOST}/", 1)
    stamp = raw.split("-->", 1)[0].removeprefix("<!--")
    copy = copy.replace(f"<!--{stamp}-->", f"<!--{int(stamp) + 3_600_000}-->", 1)
    assert copy != raw
    path = directory / "syndicated-copy.txt"
    path.write_text(copy, encoding="utf-8")
    return path
