"""Chinese-aware splitting of article text into passages with exact character offsets."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from rag.records import Article, Chunk

# Paragraph breaks first, then Chinese sentence ends, then Latin ones, then clause
# breaks; the empty string is the last resort for a run of text with no boundary.
SEPARATORS: tuple[str, ...] = (
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    "…",
    ". ",
    "! ",
    "? ",
    "; ",
    "，",
    "、",
    ", ",
    " ",
    "",
)


def split_text(text: str, chunk_size: int, chunk_overlap: int) -> list[str]:
    """The pieces langchain's ``RecursiveCharacterTextSplitter`` cuts ``text`` into with
    ``SEPARATORS``, ``keep_separator="end"`` and stripped whitespace, exactly.

    Written out here (the same algorithm, ~50 lines) because importing
    ``langchain_text_splitters`` imports langchain-core, pydantic and requests: 0.22-0.32 s
    more in every update process that chunks even one article, imported after the rest of
    the build (langchain-core 1.8, 2-core AMD EPYC Zen 5; an update adding one article to
    an 18k-passage index takes 0.55 s in all). The splitter tests compare both on the
    sample corpus and on generated texts; a newer langchain can no longer move passage
    boundaries (and with them every cached vector) either.
    """
    return _split(text, SEPARATORS, chunk_size, chunk_overlap)


def _split(text: str, separators: Sequence[str], size: int, overlap: int) -> list[str]:
    # the first separator the text contains (the empty one always matches)
    separator = separators[-1]
    rest: tuple[str, ...] = ()
    for i, candidate in enumerate(separators):
        if not candidate:
            separator = candidate
            break
        if candidate in text:
            separator, rest = candidate, tuple(separators[i + 1 :])
            break
    chunks: list[str] = []
    short: list[str] = []
    for piece in _pieces(text, separator):
        if len(piece) < size:
            short.append(piece)
            continue
        if short:
            chunks.extend(_merge(short, size, overlap))
            short = []
        chunks.extend(_split(piece, rest, size, overlap) if rest else [piece])
    if short:
        chunks.extend(_merge(short, size, overlap))
    return chunks


def _pieces(text: str, separator: str) -> list[str]:
    """``text`` cut after each ``separator`` (kept at the end of its piece)."""
    if not separator:
        return list(text)
    parts = text.split(separator)
    pieces = [part + separator for part in parts[:-1]]
    pieces.append(parts[-1])
    return [piece for piece in pieces if piece]


def _merge(pieces: Sequence[str], size: int, overlap: int) -> list[str]:
    """Consecutive pieces joined into chunks of at most ``size`` characters, each new
    chunk starting with up to ``overlap`` characters of the previous one's end."""
    docs: list[str] = []
    current: list[str] = []
    total = 0
    for piece in pieces:
        length = len(piece)
        if total + length > size and current:
            _append_stripped(docs, current)
            while total > overlap or (total + length > size and total > 0):
                total -= len(current[0])
                current = current[1:]
        current.append(piece)
        total += length
    _append_stripped(docs, current)
    return docs


def _append_stripped(docs: list[str], pieces: list[str]) -> None:
    text = "".join(pieces).strip()
    if text:
        docs.append(text)


def split_with_offsets(text: str, chunk_size: int, chunk_overlap: int) -> list[tuple[int, int]]:
    """(start, end) spans of ``text`` that the splitter cuts it into, in order."""
    if chunk_overlap >= chunk_size:
        raise ValueError("chunk_overlap must be smaller than chunk_size")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in split_text(text, chunk_size, chunk_overlap):
        # Pieces come back in order and overlap the previous one by at most
        # chunk_overlap characters, so the next one cannot start before that point;
        # searching from there keeps repeated sentences from matching too early.
        start = text.find(piece, cursor)
        if start < 0:
            start = text.find(piece)
        if start < 0:  # cannot happen with strip_whitespace; keep the invariant loud
            raise AssertionError("splitter returned text that is not in the article")
        spans.append((start, start + len(piece)))
        cursor = max(start + 1, start + len(piece) - chunk_overlap)
    return spans


def chunk_id(article_id: str, start: int, end: int, text: str) -> str:
    """A stable id: the same article text split the same way gives the same ids."""
    digest = hashlib.sha1(f"{start}:{end}:{text}".encode()).hexdigest()[:10]
    return f"{article_id}-{digest}"


def chunk_article(article: Article, chunk_size: int = 300, chunk_overlap: int = 50) -> list[Chunk]:
    """Passages of ``article.text`` with offsets; ``article.text[c.start:c.end] == c.text``."""
    chunks = []
    for ordinal, (start, end) in enumerate(
        split_with_offsets(article.text, chunk_size, chunk_overlap)
    ):
        piece = article.text[start:end]
        chunks.append(
            Chunk(
                id=chunk_id(article.id, start, end, piece),
                article_id=article.id,
                ordinal=ordinal,
                start=start,
                end=end,
                text=piece,
            )
        )
    return chunks


def embedding_text(title: str, passage: str) -> str:
    """What the embedder sees for a passage: the title gives context the passage lacks."""
    return f"{title}\n{passage}" if title else passage
