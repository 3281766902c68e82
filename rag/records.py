"""Records that cross module boundaries. All frozen: build a new one instead of mutating."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from rag.errors import RagError


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
    # (start, end) in ``text`` of the phrase that answers the question, when located
    highlight: tuple[int, int] | None = None


@dataclass(frozen=True)
class Gloss:
    """An English reading of a name or number in an answer's Chinese sentences, for a
    question asked in another language ("蓬佩奥" -> "Pompeo", "3万" -> "30,000")."""

    text: str  # as written in the answer
    english: str


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
    # set when an LLM answer was asked for and failed (the answer is then extractive)
    llm_error: str | None = None
    model: str | None = None
    endpoint: str | None = None
    # why an LLM answer ended: "stop", "length" (llm_max_tokens reached) or "repetition"
    # (cut where the model began repeating itself); None for other answers
    finish_reason: str | None = None
    # the search result's calibrated confidence that its passages answer the question
    confidence: float | None = None
    # English readings of the names and numbers in the answer (questions not in Chinese)
    glosses: tuple[Gloss, ...] = ()


def parse_day(value: str, end_of_day: bool = False) -> datetime:
    """'2023-01-01' (or a full ISO datetime) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RagError(f"invalid date {value!r}; use YYYY-MM-DD") from None
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time.max if end_of_day else time.min)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied inside the search: inclusive dates (UTC) and a source substring."""

    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None

    @classmethod
    def parse(
        cls, since: str | None = None, until: str | None = None, source: str | None = None
    ) -> SearchFilters:
        """Filters from user strings: YYYY-MM-DD dates (``until`` is inclusive), a source."""
        filters = cls(
            since=parse_day(since) if since else None,
            until=parse_day(until, end_of_day=True) if until else None,
            source=source or None,
        )
        if filters.since and filters.until and filters.since > filters.until:
            raise RagError(f"since {since} is after until {until}; swap them")
        return filters

    def active(self) -> bool:
        return bool(self.since or self.until or self.source)


@dataclass(frozen=True)
class SearchOptions:
    """How to search: every field left as None takes the archive's settings.

    ``min_score`` is the relevance threshold on the best passage's cosine (0 turns the
    no-answer check off); None uses the settings' per-language thresholds.
    """

    k: int | None = None
    mode: str | None = None
    per_article: int | None = None
    # at most this many passages from one outlet (site), so one cannot fill the list
    per_source: int | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    min_score: float | None = None
    # The date time expressions in the question are resolved against (None: the
    # settings' as_of, else today). ``resolve_time=False`` leaves them as plain words.
    # Explicit since/until filters always win over a time expression.
    as_of: date | None = None
    resolve_time: bool = True
    # Take the time words out of the text that is embedded and matched (measured:
    # scripts/eval_gate.py news set, README).
    strip_time_words: bool = True
    # Put the newest of the near-best passages first when the question asks for the
    # latest news (最新 / 最近 / latest) and names no window.
    prefer_recent: bool = True

    @classmethod
    def parse(
        cls,
        *,
        k: int | None = None,
        mode: str | None = None,
        since: str | None = None,
        until: str | None = None,
        source: str | None = None,
        as_of: str | None = None,
        per_article: int | None = None,
        per_source: int | None = None,
    ) -> SearchOptions:
        """Options from request strings (the HTTP API, the MCP tools): dates YYYY-MM-DD."""
        return cls(
            k=k,
            mode=mode,
            per_article=per_article,
            per_source=per_source,
            filters=SearchFilters.parse(since, until, source),
            as_of=parse_day(as_of).date() if as_of else None,
        )


@dataclass(frozen=True)
class TimeWindow:
    """An inclusive date range named by words of a question ("上周", "last month")."""

    start: date
    end: date
    expression: str
    span: tuple[int, int]


@dataclass(frozen=True)
class LatinName:
    """A Chinese name a question writes in Latin letters ("Yan Changshou"), and the
    readings each of its characters may have, in order (("yan",), ("chang", "zhang"),
    ("shou",))."""

    written: str
    syllables: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Wording:
    """A question's other wordings, worked out in the query stage (``rag.search.translate``)."""

    # What the keyword side matches besides the question: the dictionary's Chinese for
    # an English question, the other written forms of the names it contains.
    keywords: str | None = None
    # The question in the dictionary's Chinese, embedded beside it; None: not translated.
    translation: str | None = None
    # A question in Traditional characters in mainland wording (網路 -> 网络), which the
    # no-answer check reads beside it; None: not written in Traditional characters.
    mainland: str | None = None
    # Chinese names the question writes in pinyin or Wade-Giles (or foreign ones):
    # read in the candidate passages, and the characters found there join both wordings.
    latin_names: tuple[LatinName, ...] = ()


@dataclass(frozen=True)
class Query:
    """A question as the archive understood it, once, before anything was searched."""

    question: str  # as asked (surrounding space removed)
    language: str  # "zh" (Chinese, either script) or "other"
    text: str  # what is embedded and matched: the question without the time words
    time_window: TimeWindow | None = None  # the dates a time expression named
    recency: str | None = None  # 最新 / latest: the newest of the near-best come first
    # The cosine the best passage must reach to count as an answer; None: the calibrated
    # no-answer model decides.
    min_score: float | None = None
    relevance: float = 0.0  # the cosine a passage must reach to count as relevant
    no_answer_check: bool = True  # False when the check is off (min_score 0)
    wording: Wording = field(default_factory=Wording)  # ``text``'s other wordings


@dataclass(frozen=True)
class SearchResult:
    """The ranked passages for one question, with the filters and notices that shaped them."""

    query: str
    mode: str
    index: str
    hits: tuple[Hit, ...]
    filters: SearchFilters = field(default_factory=SearchFilters)
    notice: str | None = None
    # True when no passage cleared the relevance threshold: ``hits`` then holds the
    # closest passages for reference, but they should not be presented as an answer.
    no_answer: bool = False
    # The index version the result was computed from.
    version: str = ""
    # The window a time expression in the question named, used as the date filter;
    # ``outside_window`` when nothing in it was relevant and the hits come from outside.
    time_window: TimeWindow | None = None
    outside_window: bool = False
    # The word (最新, latest) that put the newest of the near-best passages first.
    recency: str | None = None
    # The question's embedding, so that answering it does not embed it again.
    query_vector: Any = field(default=None, compare=False, repr=False)
    # How likely (0-1, calibrated) the best passages answer the question; None when
    # the no-answer check was off (min_score 0) or no model is installed.
    confidence: float | None = None
    # What the question was understood to ask (language, window, recency, thresholds).
    understood: Query | None = None
    # The characters the passages write each name with that the question wrote in Latin
    # letters ("Yan Changshou" -> 严长寿, "Kodouda" -> 科杜达)
    names_read: tuple[tuple[str, str], ...] = ()
    # The no-answer model's inputs (``rag.search.no_answer.FEATURES``) the confidence
    # was computed from, when it was
    signals: dict[str, float] | None = field(default=None, compare=False, repr=False)

    @property
    def found(self) -> bool:
        return bool(self.hits) and not self.no_answer


@dataclass(frozen=True)
class ArticleDetail:
    """An indexed article with its passages (offsets into ``article.text``)."""

    article: Article
    passages: tuple[Chunk, ...]
    version: str


@dataclass(frozen=True)
class AskResult:
    """A question's search result and the cited answer written from it."""

    result: SearchResult
    answer: Answer


@dataclass(frozen=True)
class SourceFile:
    """One source file an index was built from: its resolved path, raw hash and article."""

    path: str
    raw_hash: str
    article: Article
    # the file's size and mtime when it was hashed (-1: unknown, hash it again next time)
    size: int = -1
    mtime_ns: int = -1


@dataclass(frozen=True)
class BuildReport:
    """What a build or update did. ``articles`` is what the new version holds."""

    index_dir: str
    version: str
    articles: int
    passages: int
    added: int
    updated: int
    removed: int
    unchanged: int
    failed: int
    duplicates_merged: int
    embedded: int
    reused_embeddings: int
    seconds: float
    previous_articles: int = 0
    failures: tuple[IngestFailure, ...] = ()
    # False when an update found nothing to change and left the live version as it was
    published: bool = True


@dataclass(frozen=True)
class SourceCount:
    """How many articles one source (site) contributed."""

    name: str
    articles: int


@dataclass(frozen=True)
class ArchiveStats:
    """Facts about the live index version for ``rag index stats``."""

    index: str
    version: str
    format_version: int
    built_at: str
    embedder: str
    dim: int
    index_kind: str
    tokenizer: str
    chunk_size: int
    chunk_overlap: int
    articles: int
    passages: int
    source_files: int
    sources: tuple[SourceCount, ...]
    bytes_index: int
    bytes_cache: int
    source_roots: tuple[str, ...]
    # where the vectors are: local files, or Milvus at milvus_uri (not in bytes_index)
    backend: str = "local"
    milvus_uri: str = ""
    # an update's delta over the base (rag.index.local.segments): its passages, and the base's
    # passages it replaced or removed (both 0 for a version written whole)
    delta_passages: int = 0
    removed_passages: int = 0


@dataclass(frozen=True)
class TimelineEntry:
    """One article of a story's timeline: its best passage, and the other outlets
    whose copies of it were folded into this entry."""

    published: datetime | None
    hit: Hit
    also_reported_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timeline:
    """The articles about a story in date order (oldest first), cut by relevance."""

    query: str
    entries: tuple[TimelineEntry, ...]
    filters: SearchFilters = field(default_factory=SearchFilters)
    time_window: TimeWindow | None = None
    notice: str | None = None
    version: str = ""


@dataclass(frozen=True)
class FileProblem:
    """One file that does not match its record: missing, another size, other bytes."""

    path: str  # relative to the folder checked
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class FolderCheck:
    """One folder checked against its checksums: a version, a derived model, a cache."""

    what: str  # "index version", "embedding cache", "model files"
    path: str
    files: int  # files checked
    bytes: int  # bytes read
    problems: tuple[FileProblem, ...] = ()
    # False for a folder written before checksums were recorded (nothing to compare)
    recorded: bool = True


@dataclass(frozen=True)
class VerifyReport:
    """What ``rag index verify`` found: every folder checked, and the time it took."""

    index: str
    version: str
    checks: tuple[FolderCheck, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not any(c.problems for c in self.checks)


@dataclass(frozen=True)
class Turn:
    """One question of a conversation, as a later follow-up needs it: what was asked, what
    was searched for it (its completed form), and what it was understood and found as."""

    question: str  # as asked
    searched: str  # what was searched: the completed question, else the question itself
    understood: Query | None = None
    as_of: date | None = None  # the date its time words were resolved against
    filters: SearchFilters = field(default_factory=SearchFilters)
    titles: tuple[str, ...] = ()  # the titles of the articles it found, best first
    new_topic: bool = True  # False when it continued the turns before it


@dataclass(frozen=True)
class FollowUp:
    """A question read against the conversation before it.

    ``text`` is what is searched: the question completed with the words of the previous
    turns (``carried``) when it leans on them, else the question itself. The time words
    and reference date of the topic's first timed turn (``as_of``) and its filters are
    carried so that 上周 still means the same week.
    """

    question: str  # as asked
    text: str  # what is searched
    completed: bool  # True when ``text`` was completed from the previous turns
    new_topic: bool  # True when the question stands on its own (or there was no turn)
    carried: tuple[str, ...] = ()  # words taken from the previous turns
    method: str = "rules"  # "rules" or "llm": who completed it
    as_of: date | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    notice: str | None = None  # e.g. the LLM failed and the rules completed it

    def search_options(self, options: SearchOptions) -> SearchOptions:
        """``options`` with the conversation's reference date and filters where unset."""
        from dataclasses import replace

        filters = options.filters if options.filters.active() else self.filters
        as_of = options.as_of or self.as_of
        return replace(options, filters=filters, as_of=as_of)

    def turn(self, result: SearchResult, options: SearchOptions) -> Turn:
        """The turn this follow-up becomes once ``result`` was found for it with
        ``options`` (those ``search_options`` gave)."""
        return Turn(
            question=self.question,
            searched=self.text,
            understood=result.understood,
            as_of=options.as_of or self.as_of,
            filters=options.filters,
            titles=tuple(dict.fromkeys(h.article.title for h in result.hits))[:3],
            new_topic=self.new_topic,
        )


@dataclass(frozen=True)
class Watch:
    """A saved question the archive is asked again after each update (``rag watch``).

    ``source`` restricts it to one outlet; ``since`` (when given at creation) made the
    articles published from that day on count as not yet shown.
    """

    name: str
    question: str
    created_at: datetime
    source: str | None = None
    since: date | None = None
    last_checked: datetime | None = None
    reported: int = 0  # items shown so far


@dataclass(frozen=True)
class WatchItem:
    """One new story a check found: the best passage of its newest relevant copy, with
    what a citation needs, and the other outlets whose copies were folded into it."""

    article_id: str
    content_hash: str
    title: str
    url: str | None
    outlet: str
    published: datetime | None
    passage: str
    sentence: str  # the passage's sentence closest to the question
    score: float  # the passage's cosine with the question
    found_at: datetime  # when the check that reported it ran
    also_reported_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchDigest:
    """What one check of one watch found (newest first), or the items it found last."""

    watch: Watch
    items: tuple[WatchItem, ...]
    checked_at: datetime | None
    version: str = ""
    notice: str | None = None
