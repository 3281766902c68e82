"""Records that cross module boundaries. All frozen: build a new one instead of mutating."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One cleaned article: the text passages are cut from, plus its metadata.

    ``text`` is the cleaned body (boilerplate removed). Every passage offset in the
    index points into this string. ``urls``/``dates`` hold every URL and publication
    date seen for the story when duplicate copies were merged into one record.
    """

    id: str
    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: datetime | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    path: str | None = None
    content_hash: str = ""
    urls: tuple[str, ...] = ()
    dates: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class IngestFailure:
    """A problem with one source file, as one line. ``skipped`` is False for a warning
    about a file that was still indexed (e.g. a broken header, metadata recovered)."""

    path: str
    reason: str
    skipped: bool = True


@dataclass(frozen=True)
class Hit:
    """One ranked passage returned by a search, with the article it came from.

    ``score`` is the cosine similarity between the question and the passage (dense
    side) whatever the ranking mode; ``rank_score`` is the value the ranking used
    (cosine, BM25 or fused). ``highlight`` is the (start, end) of the sentence that
    best matches the question, relative to ``chunk.text``.
    """

    rank: int
    score: float
    chunk: Chunk
    article: Article
    rank_score: float = 0.0
    highlight: tuple[int, int] | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered reference ``[n]`` to a passage shown to the user."""

    number: int
    hit: Hit


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence of an answer and the citation numbers that support it."""

    text: str
    citations: tuple[int, ...] = ()
    unsupported: bool = False
    invalid_citations: tuple[int, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A written answer assembled from (and citing) retrieved passages."""

    question: str
    mode: str  # "extractive" | "llm" | "none"
    text: str
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    found: bool = True
    notice: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
