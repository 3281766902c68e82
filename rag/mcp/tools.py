"""The tools over one ``Archive``: their descriptions, argument and result types, and
the one-line errors a caller can fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from rag.archive import Archive
from rag.config import API_MAX_K, API_MAX_QUESTION_CHARS, MODES
from rag.errors import MissingDependencyError, RagError
from rag.mcp.text import article_text, ask_text, search_text, timeline_text, watch_text
from rag.records import SearchOptions
from rag.serialize import (
    answer_to_dict,
    article_detail_to_dict,
    followup_to_dict,
    search_to_dict,
    timeline_to_dict,
    watch_check_to_dict,
)

MAX_K = API_MAX_K
MAX_QUESTION_CHARS = API_MAX_QUESTION_CHARS
MAX_PREVIOUS = 8  # earlier questions a follow-up is read against
# rag.config.MODES as a type, so the tool schema lists them (mypy reads no Literal made
# from a tuple; pydantic does)
Mode = Literal[MODES]  # type: ignore[valid-type]

INSTRUCTIONS = """\
An archive of Chinese news articles (saved web pages and feeds), searched by meaning and
by keyword. Questions may be in Chinese or English. Every passage comes with its
article's title, publication date, source site and URL: cite them when you use it.
Use search to read the best passages, ask for a short answer quoted from them with [n]
citations, timeline for how a story developed (its articles in date order), and
get_article to read a whole article found by any of them. Time words in a question
(上周, 去年11月, last month) become a date window, counted from as_of."""

SEARCH_HELP = """\
Find the passages of the news archive that answer a question, best first.

Use it for facts, quotes and who/what/when/where questions about the news in the
archive, in Chinese or English, e.g. "中美在COP28上承诺了什么", "解振华与克里在哪里会谈",
"What did China and the US promise at COP28?"; keywords work too ("甲烷 减排").

Returns {query, mode, filters, found, notice, hits}: each hit has rank, score (cosine to
the question), text (the passage), title, published, source, url, article_id, chunk_id,
start/end (the passage's character offsets in the article text) and highlight (the best
matching sentence in text). found=false means no passage is relevant enough: the hits are
then only the closest ones, not an answer. Pass a hit's article_id to get_article to read
the whole article."""

ASK_HELP = """\
Answer a question from the news archive with sentences quoted verbatim from the best
passages, each ending with [n], and the passages themselves.

Use it when a short cited answer is wanted, e.g. "中美在COP28上承诺了什么" or
"克里什么时候访问北京"; use search to read and weigh the passages yourself. [n] cites
hits[n-1]. Quote the answer with its citations and give each cited hit's title, date
and URL.

Returns what search returns plus answer: {mode, text, sentences (each with its
citations), citations (number and chunk_id), found, notice}. found=false: the archive has
nothing relevant enough, and the answer says so rather than guessing."""

ARTICLE_HELP = """\
Read one whole article of the archive: its cleaned text and metadata.

Use it after search or ask, with a hit's article_id, to read the context around a
passage (e.g. the full report behind a quoted sentence such as
"以协商一致方式达成全球盘点决定").

Returns {id, title, published, source, url, urls, dates, author, tags, text, passages}:
passages lists every indexed passage's chunk_id and start/end offsets in text, the same
offsets search hits carry."""


TIMELINE_HELP = """\
List the articles about one story in date order (oldest first), each with its date,
outlet, title, URL and the sentence that best matches the story.

Use it for how a story developed over time, e.g. "中美气候合作", "解振华与克里的会谈",
"US-China climate talks"; copies of one story from several outlets are one entry with
also_reported_by. Only articles relevant enough to the story are listed.

Returns {query, filters, time_window, notice, entries}: each entry has published,
title, source, url, article_id, score, sentence, chunk_id and also_reported_by."""

WATCH_CHECK_HELP = """\
Check the watched questions of the archive: the new stories relevant to each since its
last check, newest first.

A watch is a question saved with 'rag watch add' (e.g. "中美气候谈判"). Use it when
asked what is new on a watched story; the stories it returns count as shown and are
not returned again (unless their text changes), so report them all to the user.
Leave name out to check every watch.

Returns {new, watches}: each watch has its name and question and items, each with
title, published, outlet, url, article_id, sentence (the best matching one), passage
and score. Cite each item's title, date, outlet and URL."""


# The SDK builds each tool's input and output schemas from its annotations, evaluated in
# this module when the tool is registered. They are made with pydantic and the SDK, which
# come with the mcp extra; without it they are never needed, as create_server says what
# to install.
try:
    from mcp.types import CallToolResult, TextContent
    from pydantic import Field

    from rag.schemas import (
        ArticleResponse,
        SearchResponse,
        TimelineResponse,
        WatchCheckResponse,
    )
except ImportError:
    pass
else:
    # A result is its structured content, checked by the SDK against the model after
    # CallToolResult (the tool's output schema), and a short text for the model to read.
    SearchResult = Annotated[CallToolResult, SearchResponse]
    TimelineResult = Annotated[CallToolResult, TimelineResponse]
    ArticleResult = Annotated[CallToolResult, ArticleResponse]
    WatchCheckResult = Annotated[CallToolResult, WatchCheckResponse]
    QuestionArg = Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_QUESTION_CHARS,
            description="The question or keywords, in Chinese or English.",
        ),
    ]
    PreviousArg = Annotated[
        list[Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]] | None,
        Field(
            max_length=MAX_PREVIOUS,
            description="The conversation's earlier questions, oldest first, when this "
            "question follows up on them (那甲烷呢？, what about coal?): it is completed "
            "from them, and follow_up says what was searched.",
        ),
    ]
    KArg = Annotated[
        int | None,
        Field(ge=1, le=MAX_K, description="How many passages (1-50) [default: 5, or top_k]."),
    ]
    ModeArg = Annotated[
        Mode | None,
        Field(
            description="hybrid: meaning and keywords (default, best); dense: meaning only; "
            "keyword: exact words (names, numbers)."
        ),
    ]
    SinceArg = Annotated[
        str | None,
        Field(max_length=32, description="Only articles published on/after YYYY-MM-DD."),
    ]
    UntilArg = Annotated[
        str | None,
        Field(max_length=32, description="Only articles published on/before YYYY-MM-DD."),
    ]
    AsOfArg = Annotated[
        str | None,
        Field(
            max_length=10,
            description="YYYY-MM-DD that time words in the question (上周, 去年11月, last "
            "month) count from [default: today]. The window they name becomes the date "
            "filter; since/until override it.",
        ),
    ]
    PerSourceArg = Annotated[
        int | None,
        Field(
            ge=0,
            le=MAX_K,
            description="At most this many passages from one outlet, so one site cannot "
            "fill the list (0: no cap) [default: 0, or per_source].",
        ),
    ]
    SourceArg = Annotated[
        str | None,
        Field(
            max_length=200,
            description="Only articles whose source site or URL contains this (e.g. rfi).",
        ),
    ]
    WatchNameArg = Annotated[
        str | None,
        Field(max_length=100, description="One watch's name [default: every watch]."),
    ]
    ArticleIdArg = Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="The article_id of a search or ask hit.",
        ),
    ]


def _options(
    k: int | None,
    mode: str | None,
    since: str | None,
    until: str | None,
    source: str | None,
    as_of: str | None,
    per_source: int | None,
) -> SearchOptions:
    """The search options a tool call's arguments name (the same for search and ask)."""
    return SearchOptions.parse(
        k=k,
        mode=mode,
        since=since,
        until=until,
        source=source,
        as_of=as_of,
        per_source=per_source,
    )


class ArchiveTools:
    """The tools, over one archive: each makes one call and returns its JSON, with a short
    text form of it (``rag.mcp.text``)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def search(
        self,
        question: QuestionArg,
        k: KArg = None,
        mode: ModeArg = None,
        since: SinceArg = None,
        until: UntilArg = None,
        source: SourceArg = None,
        as_of: AsOfArg = None,
        per_source: PerSourceArg = None,
        previous: PreviousArg = None,
    ) -> SearchResult:
        options = _options(k, mode, since, until, source, as_of, per_source)
        text, options, followup = self.archive.after(question, previous or (), options)
        data = search_to_dict(self.archive.search(text, options))
        data["answer"] = None  # the shape of ``rag ask --no-answer --json``
        if followup is not None:
            data["follow_up"] = followup_to_dict(followup)
        return _result(data, search_text)

    def ask(
        self,
        question: QuestionArg,
        k: KArg = None,
        mode: ModeArg = None,
        since: SinceArg = None,
        until: UntilArg = None,
        source: SourceArg = None,
        as_of: AsOfArg = None,
        per_source: PerSourceArg = None,
        previous: PreviousArg = None,
    ) -> SearchResult:
        options = _options(k, mode, since, until, source, as_of, per_source)
        text, options, followup = self.archive.after(question, previous or (), options)
        asked = self.archive.ask(text, options)
        data = search_to_dict(asked.result)
        data["answer"] = answer_to_dict(asked.answer)
        if followup is not None:
            data["follow_up"] = followup_to_dict(followup)
        return _result(data, ask_text)

    def timeline(
        self,
        question: QuestionArg,
        since: SinceArg = None,
        until: UntilArg = None,
        source: SourceArg = None,
        as_of: AsOfArg = None,
    ) -> TimelineResult:
        options = SearchOptions.parse(since=since, until=until, source=source, as_of=as_of)
        return _result(timeline_to_dict(self.archive.timeline(question, options)), timeline_text)

    def get_article(self, article_id: ArticleIdArg) -> ArticleResult:
        found = self.archive.article(article_id)
        if found is None:
            raise RagError(
                f"no article {article_id!r} in the index; use the article_id of a search hit"
            )
        return _result(article_detail_to_dict(found), article_text)

    def watch_check(self, name: WatchNameArg = None) -> WatchCheckResult:
        digests = self.archive.watches().check(name)
        return _result(watch_check_to_dict(digests), watch_text)


def _result(data: dict[str, Any], text: Callable[[dict[str, Any]], str]) -> CallToolResult:
    """``data`` as the structured content, with ``text(data)`` as the text the model reads."""
    return CallToolResult(
        content=[TextContent(type="text", text=text(data))], structured_content=data
    )


def require_sdk() -> None:
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "rag mcp needs the MCP Python SDK; install it with pip install 'rag-news[mcp]'"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def fixable_problem(error: Exception) -> str | None:
    """One line on a failed tool call the caller can fix, or None to leave the SDK's reply.

    The SDK reports arguments that fail the schema with pydantic's multi-line report,
    and any other exception as ``Error executing tool NAME`` alone (its text might hold
    secrets). A ``RagError`` or ``OSError`` message is written for the user, so it is
    passed on, as the CLI prints it.
    """
    from mcp.server.mcpserver.exceptions import UnexpectedToolError
    from pydantic import ValidationError

    cause = error.__cause__
    unexpected = isinstance(error, UnexpectedToolError)
    if isinstance(cause, ValidationError) and not unexpected:  # the arguments
        return "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in cause.errors()
        )
    if unexpected and isinstance(cause, RagError | OSError):
        return _message(cause)
    return None


def _message(exc: RagError | OSError) -> str:
    if isinstance(exc, OSError):  # the system's words, as the CLI prints them
        where = f" ({exc.filename})" if exc.filename else ""
        return _one_line(f"{exc.strerror or exc}{where}")
    return _one_line(str(exc))
