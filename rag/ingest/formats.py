"""Split a decoded source file into metadata and a body, whatever its format.

Formats understood:

- the seed feed format: ``<!--epoch-ms-->``, ``[title](url)``, ``------``, page HTML;
- Jekyll/Hugo front matter (``---`` YAML ``---``) followed by HTML or Markdown (the
  body may itself start with a seed header, as in the oped2 archive);
- plain HTML, Markdown and text files.

Nothing here raises for a damaged header: the body is still returned and the problem
is recorded in ``RawDocument.warnings`` so the caller can fall back on metadata found
in the HTML itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import yaml

BodyKind = Literal["html", "markdown", "text"]

_SEED_TIME = re.compile(r"^\s*<!--\s*(.*?)\s*-->\s*$")
_SEED_LINK = re.compile(r"^\s*\[(?P<title>.*)\]\((?P<url>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)\s*$")
_SEED_RULE = re.compile(r"^\s*-{3,}\s*$")
_HTML_HINT = re.compile(
    r"<(?:!doctype|html|head|body|p|div|br|article|section|span|a|img|h[1-6]|ul|ol|li|table|main)\b",
    re.IGNORECASE,
)
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)\s*$", re.MULTILINE)
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MAX_TEXT_TITLE = 80


@dataclass(frozen=True)
class RawDocument:
    """A source file's header metadata and its still-uncleaned body.

    ``published`` is always timezone-aware (or None). ``warnings`` are one-line
    descriptions of header problems that did not stop the file from loading.
    """

    title: str | None
    url: str | None
    published: datetime | None
    author: str | None
    tags: tuple[str, ...]
    body: str
    body_kind: BodyKind
    warnings: tuple[str, ...] = ()


def parse_document(text: str, *, suffix: str, stem: str) -> RawDocument:
    """Parse decoded file text; ``suffix`` (e.g. ``.md``) and ``stem`` guide the defaults.

    Front matter wins over a seed header for title/author; the seed header's epoch
    (millisecond precision) wins over a front-matter date. A text file's title is its
    first non-empty line when that is short, else ``stem``.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    warnings: list[str] = []
    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---\n"):
        meta, body = _split_front_matter(text, warnings)
    # A front-matter date makes a broken seed timestamp harmless: no warning for it.
    seed = _parse_seed_header(body, warnings, need_time=parse_datetime(meta.get("date")) is None)
    if seed is not None:
        body = seed.pop("body")
        for key, value in seed.items():
            if value is not None and (key == "published" or meta.get(key) is None):
                meta[key] = value

    kind = _body_kind(body, suffix)
    title = _clean_str(meta.get("title"))
    if title is None and kind == "markdown":
        title = _markdown_title(body)
    if title is None and kind == "text":
        title = _text_title(body) or stem
    published = meta.get("published")
    if not isinstance(published, datetime):
        published = parse_datetime(meta.get("date"))
        if meta.get("date") is not None and published is None:
            warnings.append(f"front matter date {str(meta.get('date'))[:40]!r} is not a date")
    return RawDocument(
        title=title,
        url=_clean_str(
            meta.get("url") or meta.get("from") or meta.get("link") or meta.get("source_url")
        ),
        published=published,
        author=_clean_str(_first(meta.get("author") or meta.get("authors"))),
        tags=_as_tags(meta.get("tags")),
        body=body,
        body_kind=kind,
        warnings=tuple(warnings),
    )


def parse_datetime(value: object) -> datetime | None:
    """Read a date from YAML/trafilatura/ISO text as an aware datetime, or None.

    Naive values (no offset given) are taken to be UTC; a bare date means 00:00 UTC.
    """
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        raw = value.strip().replace("Z", "+00:00")
        try:
            result = datetime.fromisoformat(raw)
        except ValueError:
            try:
                result = datetime.fromisoformat(raw.replace(" ", "T", 1))
            except ValueError:
                return None
    else:
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result


def _split_front_matter(text: str, warnings: list[str]) -> tuple[dict[str, Any], str]:
    end = _FRONT_MATTER_END.search(text, 4)
    if end is None:
        warnings.append("front matter has no closing '---' line; read as body")
        return {}, text
    block, body = text[4 : end.start()], text[end.end() :].lstrip("\n")
    try:
        loaded = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        warnings.append(f"malformed front matter ({first_line}); metadata taken from the page")
        return {}, body
    if not isinstance(loaded, dict):
        warnings.append("front matter is not a key/value mapping; metadata taken from the page")
        return {}, body
    return {str(key).lower(): value for key, value in loaded.items()}, body


def _parse_seed_header(
    body: str, warnings: list[str], *, need_time: bool = True
) -> dict[str, Any] | None:
    """Read the seed header if ``body`` starts with one; None if it is not seed format."""
    lines = body.split("\n", 3)
    if not lines or not _SEED_TIME.match(lines[0]):
        return None
    head = lines[:3]
    if not any(_SEED_LINK.match(line) for line in head[1:]) and not any(
        _SEED_RULE.match(line) for line in head[1:]
    ):
        return None  # an ordinary leading HTML comment, not a seed header
    result: dict[str, Any] = {"title": None, "url": None, "published": None}
    stamp = _SEED_TIME.match(lines[0]).group(1)  # type: ignore[union-attr]
    result["published"] = _parse_epoch_ms(stamp)
    if result["published"] is None and need_time:
        warnings.append(f"seed header: publication time {stamp[:30]!r} is not a Unix time in ms")
    consumed = 1
    link = _SEED_LINK.match(lines[1]) if len(lines) > 1 else None
    if link:
        result["title"] = link.group("title").strip() or None
        result["url"] = link.group("url").strip() or None
        consumed = 2
    else:
        warnings.append("seed header: missing '[title](url)' line")
    if len(lines) > consumed and _SEED_RULE.match(lines[consumed]):
        consumed += 1
    else:
        warnings.append("seed header: missing '------' separator line")
    parts = body.split("\n", consumed)
    result["body"] = parts[consumed] if len(parts) > consumed else ""
    return result


def _parse_epoch_ms(stamp: str) -> datetime | None:
    if not stamp.isdigit() or not 9 <= len(stamp) <= 14:
        return None
    try:
        return datetime.fromtimestamp(int(stamp) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _body_kind(body: str, suffix: str) -> BodyKind:
    if suffix in {".html", ".htm"} or _HTML_HINT.search(body[:5000]):
        return "html"
    if suffix in {".md", ".markdown"}:
        return "markdown"
    return "text"


def _markdown_title(body: str) -> str | None:
    for line in body.split("\n"):
        match = _MARKDOWN_HEADING.match(line)
        if match:
            return match.group(1).strip()
        if line.strip():
            break
    return _text_title(body)


def _text_title(body: str) -> str | None:
    for line in body.split("\n"):
        line = line.strip()
        if line:
            return line if len(line) <= _MAX_TEXT_TITLE else None
    return None


def _first(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _clean_str(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple)):
        return None
    text = " ".join(str(value).split())
    return text or None


def _as_tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    tags = (_clean_str(item) for item in items)
    return tuple(dict.fromkeys(tag for tag in tags if tag))
