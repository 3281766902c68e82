"""Reduce a page body to its article text: one paragraph per line, no boilerplate.

HTML goes through trafilatura (comments, links and images dropped, tables kept) plus a
few rules for the boilerplate our archives are known to carry (the feed's "获取更多RSS"
footer, a leading ``15/11/2023 - 15:55`` date line). Markdown loses its markup but keeps
its text; plain text only has its whitespace normalised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

if TYPE_CHECKING:
    from trafilatura.settings import Extractor

# Page furniture trafilatura's scoring sometimes keeps: share bars, related-article
# lists, comment threads, navigation. Never matched on the page's outer containers,
# whose classes often say "comments-open" or "has-related".
_OUTER = "self::html or self::body or self::main or self::article"
_PRUNE_XPATH = [
    "//aside",
    "//nav",
    "//form",
    f'//*[not({_OUTER})][contains(@class, "share") or contains(@id, "share")]',
    f'//*[not({_OUTER})][contains(@class, "social")]',
    f'//*[not({_OUTER})][contains(@class, "related") or contains(@id, "related")]',
    f'//*[not({_OUTER})][contains(@class, "comment") or contains(@id, "comment")]',
    '//*[@id = "respond"]',
]


@lru_cache(maxsize=2)
def _extractor(extensive_date_search: bool = True) -> Extractor:
    """trafilatura's options, made on first use: importing trafilatura costs ~0.3 s of
    CPU that an update which parses no HTML (most cron runs) need not pay.

    ``extensive_date_search=False``: htmldate's quick places only (meta tags, time
    elements, URL and text patterns), never its last resort, dateparser over every
    date-like string of the page, which took a quarter of a news-oped2 build's main
    thread for dates the feed header already gave."""
    from trafilatura.settings import Extractor, set_date_params, use_config

    config = use_config()
    # trafilatura falls back to a whole-page text dump below 250 extracted characters;
    # 250 Chinese characters is already a full article for a short news item.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "60")
    return Extractor(
        config=config,
        output_format="python",
        comments=False,
        links=False,
        images=False,
        tables=True,
        formatting=False,
        with_metadata=True,
        date_params=set_date_params(extensive_date_search),
    )


_LEADING_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}\s*-\s*\d{1,2}:\d{2}$")
_BOILERPLATE_LINE = re.compile(r"^(?:获取更多RSS|獲取更多RSS|同一主题|同一主題)")
_XML_INCOMPATIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SOURCE_BREAK = re.compile(r"[ \t]*\n\s*")
_PRE_TAGS = frozenset({"pre", "textarea", "code", "script", "style"})
_SPACES = re.compile(r"[ \t\u00a0\u3000\u200b]+")


@dataclass(frozen=True)
class CleanedHtml:
    """Article text extracted from HTML plus the metadata trafilatura found in the page.

    ``text`` is empty when the page has no article text. ``date`` is trafilatura's
    ``YYYY-MM-DD`` string.
    """

    text: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    sitename: str | None = None
    author: str | None = None


def clean_html(html: str, *, url: str | None = None, need_date: bool = True) -> CleanedHtml:
    """Extract the article text and page metadata from an HTML page or fragment.

    ``need_date=False`` (the caller knows the date) skips the slow last-resort date search;
    a date found by the quick ones is still returned."""
    try:
        tree = lxml.html.document_fromstring(_XML_INCOMPATIBLE.sub("", html))
    except (etree.ParserError, ValueError):
        return CleanedHtml(text="")
    _join_source_line_breaks(tree)
    from trafilatura import bare_extraction
    from trafilatura.settings import Document

    try:
        options = _extractor(need_date)
        document = bare_extraction(tree, url=url, options=options, prune_xpath=_PRUNE_XPATH)
    except (ValueError, TypeError, AttributeError):  # trafilatura on hopeless markup
        document = None
    if not isinstance(document, Document):  # None: nothing worth extracting
        return CleanedHtml(text="")
    return CleanedHtml(
        text=tidy_lines(document.text or ""),
        title=_meta(document.title),
        date=_meta(document.date),
        url=_meta(document.url),
        sitename=_meta(document.sitename),
        author=_meta(document.author),
    )


def _join_source_line_breaks(tree: lxml.html.HtmlElement) -> None:
    """Undo pretty-printing: a line break inside HTML text is a space, or nothing between
    two CJK characters (the archives re-indented every tag, splitting sentences)."""
    slots: list[tuple[etree._Element, str]] = []
    for element in tree.iter():
        if element.tag in _PRE_TAGS or any(
            parent.tag in _PRE_TAGS for parent in element.iterancestors()
        ):
            continue
        if isinstance(element.tag, str) and element.text:
            slots.append((element, "text"))
        if element.tail:
            slots.append((element, "tail"))
    values = [getattr(element, attr) for element, attr in slots]
    last_chars = [value.strip()[-1:] for value in values]
    first_chars = [value.strip()[:1] for value in values]
    before = ""
    for index, value in enumerate(values):
        if "\n" in value:
            after = next((char for char in first_chars[index + 1 :] if char), "")
            joined = _SOURCE_BREAK.sub(_break_replacement, f"{before}{value}{after}")
            joined = joined[len(before) : len(joined) - len(after)]
            element, attr = slots[index]
            setattr(element, attr, joined)
        before = last_chars[index] or before


def _break_replacement(match: re.Match[str]) -> str:
    text = match.string
    left = text[match.start() - 1 : match.start()]
    right = text[match.end() : match.end() + 1]
    return "" if _CJK.match(left) and _CJK.match(right) else " "


def clean_markdown(markdown: str) -> str:
    """Strip Markdown markup lightly, keeping the words: one paragraph per line."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_fence = False
    for raw in markdown.split("\n"):
        line = raw.rstrip()
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            paragraphs.append(line.strip())
            continue
        line = _strip_inline_markdown(line)
        if (
            not line.strip()
            or _MD_RULE.match(line)
            or _MD_HEADING.match(line)
            or _MD_LIST.match(line)
        ):
            if current:
                paragraphs.append(_join_wrapped(current))
                current = []
            heading = _MD_HEADING.match(line)
            item = _MD_LIST.match(line)
            if heading:
                paragraphs.append(heading.group(1))
            elif item:
                current = [item.group(1)]
            continue
        current.append(line.strip())
    if current:
        paragraphs.append(_join_wrapped(current))
    return tidy_lines("\n".join(paragraphs))


def clean_text(text: str) -> str:
    """Normalise newlines and spaces of a plain-text body; keep its lines."""
    return tidy_lines(text)


def tidy_lines(text: str) -> str:
    """One paragraph per line: spaces collapsed, empty lines and feed boilerplate dropped."""
    lines = [
        _SPACES.sub(" ", line).strip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    lines = [line for line in lines if line and not _BOILERPLATE_LINE.match(line)]
    if lines and _LEADING_DATE.match(lines[0]):
        lines = lines[1:]
    return "\n".join(lines)


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_MD_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|~~)(\S(?:.*?\S)?)\1")
_MD_CODE = re.compile(r"`([^`]*)`")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def _strip_inline_markdown(line: str) -> str:
    if _MD_REF_DEF.match(line):
        return ""
    line = re.sub(r"^\s{0,3}>\s?", "", line)
    line = _MD_IMAGE.sub("", line)
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_REF_LINK.sub(r"\1", line)
    line = _MD_CODE.sub(r"\1", line)
    line = _MD_EMPHASIS.sub(r"\2", line)
    return _HTML_TAG.sub("", line)


def _join_wrapped(lines: list[str]) -> str:
    """Re-join a hard-wrapped paragraph: no space between CJK characters, one otherwise."""
    joined = lines[0]
    for line in lines[1:]:
        if _CJK.match(joined[-1:]) or _CJK.match(line[:1]):
            joined += line
        else:
            joined += " " + line
    return joined


def _meta(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
