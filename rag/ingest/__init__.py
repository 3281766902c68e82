"""Ingest: turn source files (seed feed files, front-matter pages, HTML, Markdown, text)
into cleaned ``Article`` records.

``read_source`` reads one file's bytes and ``parse_article`` turns them into an
article; both raise ``IngestError`` with a one-line reason when they cannot. The build
pipeline (``rag.build``) is the one loop over many files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rag.errors import IngestError
from rag.ingest.clean import clean_html, clean_markdown, clean_text
from rag.ingest.dedup import merge_duplicates
from rag.ingest.discover import SOURCE_EXTENSIONS, discover_sources
from rag.ingest.encoding import decode_bytes
from rag.ingest.formats import RawDocument, parse_datetime, parse_document
from rag.records import Article
from rag.text.urls import canonical_url, site_of

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SOURCE_EXTENSIONS",
    "RawDocument",
    "decode_bytes",
    "discover_sources",
    "load_article",
    "merge_duplicates",
    "parse_article",
    "parse_document",
    "read_source",
]

DEFAULT_MAX_BYTES = 20_000_000


def load_article(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Article, list[str]]:
    """Read, decode, parse and clean one source file into an ``Article``.

    Returns the article and one-line warnings about problems that did not stop it
    (a broken header, metadata recovered from the page). Raises ``IngestError`` with a
    one-line reason when the file is unreadable, empty, too large, binary or has no
    extractable text.
    """
    return parse_article(path, read_source(path, max_bytes))


def parse_article(path: Path, data: bytes) -> tuple[Article, list[str]]:
    """``load_article`` for bytes already read from ``path``."""
    if not data.strip():
        raise IngestError("empty file")
    text = decode_bytes(data)
    raw = parse_document(text, suffix=path.suffix.lower(), stem=path.stem)
    warnings = list(raw.warnings)
    title, url, published, author = raw.title, raw.url, raw.published, raw.author
    sitename: str | None = None
    if raw.body_kind == "html":
        cleaned = clean_html(raw.body, url=url, need_date=published is None)
        body = cleaned.text
        sitename = cleaned.sitename
        if warnings:
            missing = {"title": title is None, "url": url is None, "date": published is None}
            found = {"title": cleaned.title, "url": cleaned.url, "date": cleaned.date}
            recovered = [name for name in missing if missing[name] and found[name]]
            if recovered:
                warnings.append(f"metadata recovered from the page: {', '.join(recovered)}")
        title = title or cleaned.title
        url = url or cleaned.url
        published = published or parse_datetime(cleaned.date)
        author = author or cleaned.author
    elif raw.body_kind == "markdown":
        body = clean_markdown(raw.body)
    else:
        body = clean_text(raw.body)
    if not body.strip():
        raise IngestError("no extractable text")
    if not title:
        title = _first_line(body) or path.stem
    content_hash = hashlib.sha256(body.encode("utf-8")).hexdigest()
    article = Article(
        id=article_id(url, path),
        title=title,
        text=body,
        url=url,
        source=sitename or site_of(url),
        published=published,
        author=author,
        tags=raw.tags,
        path=str(path),
        content_hash=content_hash,
        urls=(url,) if url else (),
        dates=(published,) if published else (),
    )
    return article, warnings


def article_id(url: str | None, path: Path) -> str:
    """First 16 hex digits of the SHA-1 of the canonical URL, or of the resolved path."""
    key = canonical_url(url) if url else str(path.resolve())
    return hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def read_source(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path``; ``IngestError`` when unreadable or over ``max_bytes``."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise IngestError("file vanished before it could be read") from None
    except IsADirectoryError:
        raise IngestError("is a folder, not a file") from None
    except PermissionError:
        raise IngestError("permission denied") from None
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        try:
            size = path.stat().st_size
        except OSError:
            size = len(data)
        raise IngestError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit")
    return data


def _first_line(text: str) -> str | None:
    line = text.split("\n", 1)[0].strip()
    return line[:80] if line else None
