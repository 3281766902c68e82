"""The JSON ``rag.serialize`` writes, as pydantic models: the HTTP API's response models
(its OpenAPI document) and the MCP tools' output schemas, so both describe one shape.

The models document and check that JSON; they never produce it (``rag.serialize`` does,
for the CLI too). Every model forbids fields it does not name, so a field added to the
JSON and not here fails the contract tests instead of going undocumented. Needs pydantic,
which the ``serve`` and ``mcp`` extras bring.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.config import MODES

# rag.config.MODES as a type, so the schemas list them (mypy reads no Literal made from a
# tuple; pydantic does)
Mode = Literal[MODES]  # type: ignore[valid-type]
Date = str  # YYYY-MM-DD
DateTime = str  # ISO 8601 with its UTC offset


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Shape):
    """Every error the HTTP API answers, whatever its status."""

    error: str = Field(description="What went wrong and, where it can, what to do about it.")


class Filters(Shape):
    since: DateTime | None = Field(description="Only articles published at or after this.")
    until: DateTime | None = Field(description="Only articles published at or before this.")
    source: str | None = Field(description="Only articles whose source or URL holds this.")


class TimeWindow(Shape):
    start: Date
    end: Date
    expression: str = Field(description="The time words that named it (上周, last month).")


class SearchWindow(TimeWindow):
    outside: bool = Field(
        description="True when nothing inside the window was relevant and the hits are the "
        "closest passages outside it."
    )


class Understood(Shape):
    """What the question was understood to ask."""

    question: str
    language: str = Field(description='"zh" (Chinese, either script) or "other".')
    text: str = Field(description="What was searched: the question without its time words.")
    translation: str | None = Field(
        description="An English question's Chinese, embedded beside it."
    )
    time_window: TimeWindow | None
    recency: str | None = Field(description="The recency word (最新, latest), if any.")
    min_score: float | None
    relevance: float = Field(description="The cosine a passage must reach to count.")


class FollowUp(Shape):
    """The question read against the previous questions: what was searched for it."""

    question: str
    searched: str = Field(description="What was searched: the question, completed if it leaned.")
    completed: bool = Field(description="True when the previous questions completed it.")
    new_topic: bool = Field(description="True when it stands on its own.")
    carried: list[str] = Field(description="The words taken from the previous questions.")
    method: str = Field(description='"rules", or "llm" when the LLM rewrote it.')
    as_of: str | None = Field(description="The date the conversation's time words count from.")
    notice: str | None


class SearchHit(Shape):
    """A passage and its article."""

    rank: int = Field(ge=1)
    score: float = Field(description="Cosine similarity of the passage to the question.")
    rank_score: float = Field(description="The score the ranking sorted by.")
    title: str
    published: DateTime | None
    source: str | None = Field(description="The outlet (site) the article is from.")
    url: str | None
    urls: list[str] = Field(description="Every URL the article was saved from.")
    dates: list[DateTime]
    author: str | None
    article_id: str = Field(description="Pass to GET /api/articles/{article_id}.")
    chunk_id: str
    start: int = Field(ge=0, description="Offset of the passage in the article's text.")
    end: int = Field(ge=0)
    text: str
    highlight: list[int] | None = Field(
        description="[start, end] of the best matching sentence in text.",
        min_length=2,
        max_length=2,
    )


class AnswerSentence(Shape):
    text: str
    citations: list[int] = Field(description="The hits (by rank) the sentence cites.")
    unsupported: bool
    invalid_citations: list[int]
    highlight: list[int] | None = Field(min_length=2, max_length=2)


class AnswerCitation(Shape):
    number: int = Field(ge=1, description="[n] in the answer; hits[n-1].")
    chunk_id: str


class AnswerGloss(Shape):
    text: str = Field(description="A name or number as the answer writes it (蓬佩奥, 3万).")
    english: str = Field(description="Its English (Pompeo, 30,000).")


class AnswerExtra(Shape):
    model: str | None = None
    endpoint: str | None = None
    finish_reason: str | None = None


class Answer(Shape):
    """Sentences quoted from the hits, each ending with its [n] citations."""

    mode: Literal["extractive", "llm", "none"]
    text: str
    found: bool
    confidence: float | None
    notice: str | None
    sentences: list[AnswerSentence]
    citations: list[AnswerCitation]
    glosses: list[AnswerGloss] = Field(
        description="For a question not in Chinese: the English of the names and numbers "
        "the quoted sentences hold, in order; empty otherwise."
    )
    llm_error: str | None
    extra: AnswerExtra


class SearchResponse(Shape):
    """Ranked passages, and with ask a cited answer: what ``rag ask --json`` prints."""

    query: str
    index: str
    mode: Mode
    filters: Filters
    found: bool = Field(description="False: no passage is relevant enough; hits are the closest.")
    confidence: float | None
    notice: str | None
    time_window: SearchWindow | None
    recency: str | None
    understood: Understood | None
    names_read: dict[str, str] = Field(
        description="Each name the question wrote in Latin letters and the characters the "
        'passages write it with ("Yan Changshou": "严长寿").'
    )
    hits: list[SearchHit]
    answer: Answer | None = Field(description="None from search; the cited answer from ask.")
    follow_up: FollowUp | None = Field(
        None, description="With previous questions: how the question was read against them."
    )


class TimelineEntry(Shape):
    published: DateTime | None
    title: str
    source: str | None
    url: str | None
    article_id: str
    score: float
    sentence: str = Field(description="The sentence that best matches the story.")
    chunk_id: str
    start: int = Field(ge=0, description="Offset of the sentence in the article's text.")
    end: int = Field(ge=0)
    also_reported_by: list[str] = Field(description="Other outlets with a copy of the story.")


class TimelineResponse(Shape):
    """A story's articles, oldest first: what ``rag timeline --json`` prints."""

    query: str
    filters: Filters
    time_window: TimeWindow | None
    notice: str | None
    entries: list[TimelineEntry]


class ArticlePassage(Shape):
    chunk_id: str
    ordinal: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class ArticleResponse(Shape):
    """An article's cleaned text and metadata, and its passages' offsets in ``text``."""

    id: str
    title: str
    published: DateTime | None
    source: str | None
    url: str | None
    urls: list[str]
    dates: list[DateTime]
    author: str | None
    tags: list[str]
    text: str
    passages: list[ArticlePassage]


class SourceCount(Shape):
    name: str = Field(description="The outlet, as hits name it in source.")
    articles: int = Field(ge=0)


class HealthResponse(Shape):
    """The live index version and its counts, as ``rag index stats`` names them."""

    status: Literal["ok"]
    index: str
    version: str
    built_at: str
    embedder: str
    articles: int = Field(ge=0)
    passages: int = Field(ge=0)
    source_files: int = Field(ge=0, description="Files the index was built from.")
    sources: list[SourceCount] = Field(description="The outlets, most articles first.")


class Watch(Shape):
    name: str
    question: str
    source: str | None = Field(description="Only articles from this outlet.")
    since: Date | None = Field(description="Its first check reported articles from this day.")
    created_at: DateTime
    last_checked: DateTime | None
    reported: int = Field(ge=0, description="Items it has reported in all.")


class WatchItem(Shape):
    title: str
    published: DateTime | None
    outlet: str
    url: str | None
    article_id: str
    content_hash: str = Field(description="The hash of the article's text it was reported with.")
    sentence: str = Field(description="The passage's sentence that best matches the question.")
    passage: str
    score: float = Field(description="The passage's cosine with the question.")
    found_at: DateTime = Field(description="When the check that reported it ran.")
    also_reported_by: list[str] = Field(description="Other outlets with a copy of the story.")


class WatchDigest(Shape):
    watch: Watch
    checked_at: DateTime | None
    version: str
    notice: str | None
    items: list[WatchItem] = Field(description="The new stories, newest first.")


class WatchCheckResponse(Shape):
    """A check of one or every watch: what ``rag watch check --json`` prints."""

    new: int = Field(ge=0, description="New stories found, over every watch.")
    watches: list[WatchDigest]


class WatchLatest(Shape):
    """A watch and the items its checks reported last, read without checking."""

    watch: Watch
    feed: str = Field(description="The path of its Atom feed: /watch/<name>.atom.")
    items: list[WatchItem] = Field(
        description="The items its checks reported, most recently found first."
    )


class WatchesResponse(Shape):
    """Every watch of the index, oldest first, each with what it reported last."""

    watches: list[WatchLatest]
