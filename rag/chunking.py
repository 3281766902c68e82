"""Chinese-aware splitting of article text into passages with exact character offsets."""

from __future__ import annotations

import hashlib
from typing import Any

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


def _splitter(chunk_size: int, chunk_overlap: int) -> Any:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=list(SEPARATORS),
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        keep_separator="end",
        strip_whitespace=True,
        length_function=len,
    )


def split_with_offsets(text: str, chunk_size: int, chunk_overlap: int) -> list[tuple[int, int]]:
    """(start, end) spans of ``text`` that the splitter cuts it into, in order."""
    if chunk_overlap >= chunk_size:
        raise ValueError("chunk_overlap must be smaller than chunk_size")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _splitter(chunk_size, chunk_overlap).split_text(text):
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
