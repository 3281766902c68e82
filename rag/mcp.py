"""The MCP server behind ``rag mcp`` (needs the ``mcp`` extra): the archive as four tools.

``search``, ``ask``, ``timeline`` and ``get_article`` each make one ``Archive`` call and
return the JSON ``rag ask --json`` prints (``rag.serialize``), as the tool's structured
content and, for the model, as its text. A bad argument, a missing index or an unknown
article comes back as a tool error (``isError``) holding one line; nothing a client sends
stops the server. Over stdio, a line that is not a JSON-RPC message gets the JSON-RPC error
it is owed (``refusal_for``). One archive serves every call and follows newly published
index versions.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import anyio

from rag.archive import Archive
from rag.config import API_MAX_K, API_MAX_QUESTION_CHARS, MODES, Settings
from rag.errors import MissingDependencyError, RagError
from rag.records import SearchOptions
from rag.serialize import (
    answer_to_dict,
    article_detail_to_dict,
    search_to_dict,
    timeline_to_dict,
)

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.shared.message import SessionMessage

MAX_K = API_MAX_K
MAX_QUESTION_CHARS = API_MAX_QUESTION_CHARS
DEFAULT_HTTP_PORT = 8001  # beside rag serve's 8000, so both can run
HTTP_PATH = "/mcp"
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


# The SDK builds each tool's input schema from its parameters' annotations, evaluated in
# this module when the tool is registered. They are made with pydantic, which comes with
# the mcp extra; without it they are never needed, as create_server says what to install.
try:
    from pydantic import Field
except ImportError:
    pass
else:
    QuestionArg = Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_QUESTION_CHARS,
            description="The question or keywords, in Chinese or English.",
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
    ArticleIdArg = Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="The article_id of a search or ask hit.",
        ),
    ]


class ArchiveTools:
    """The tools, over one archive: each makes one call and returns its JSON."""

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
    ) -> dict[str, Any]:
        options = SearchOptions.parse(
            k=k,
            mode=mode,
            since=since,
            until=until,
            source=source,
            as_of=as_of,
            per_source=per_source,
        )
        result = self.archive.search(question, options)
        data = search_to_dict(result)
        data["answer"] = None  # the shape of ``rag ask --no-answer --json``
        return data

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
    ) -> dict[str, Any]:
        options = SearchOptions.parse(
            k=k,
            mode=mode,
            since=since,
            until=until,
            source=source,
            as_of=as_of,
            per_source=per_source,
        )
        asked = self.archive.ask(question, options)
        data = search_to_dict(asked.result)
        data["answer"] = answer_to_dict(asked.answer)
        return data

    def timeline(
        self,
        question: QuestionArg,
        since: SinceArg = None,
        until: UntilArg = None,
        source: SourceArg = None,
        as_of: AsOfArg = None,
    ) -> dict[str, Any]:
        options = SearchOptions.parse(since=since, until=until, source=source, as_of=as_of)
        return timeline_to_dict(self.archive.timeline(question, options))

    def get_article(self, article_id: ArticleIdArg) -> dict[str, Any]:
        found = self.archive.article(article_id)
        if found is None:
            raise RagError(
                f"no article {article_id!r} in the index; use the article_id of a search hit"
            )
        return article_detail_to_dict(found)


def _require_sdk() -> None:
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "rag mcp needs the MCP Python SDK; install it with pip install 'rag-news[mcp]'"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def create_server(archive: Archive) -> MCPServer[Any]:
    """An MCP server whose tools answer from ``archive``."""
    _require_sdk()
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    class ArchiveServer(MCPServer[Any]):
        """Failures the caller can fix come back as one line after the tool's name."""

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                problem = _fixable_problem(exc)
                if problem is None:
                    raise
                raise ToolError(f"Error executing tool {name}: {problem}") from exc.__cause__

        async def run_stdio_async(self) -> None:
            """The SDK's stdio loop, over stdin lines screened by ``ScreenedStdin``."""
            from mcp.server.stdio import stdio_server

            with _client_stdin() as wire:
                stdin = ScreenedStdin(wire)
                async with stdio_server(stdin=stdin) as (read_stream, write_stream):
                    stdin.reply_through(write_stream.send)
                    # what MCPServer.run_stdio_async does with the SDK's own stdin (the SDK
                    # offers no public way to hand it other streams)
                    lowlevel = self._lowlevel_server
                    await lowlevel.run(
                        read_stream, write_stream, lowlevel.create_initialization_options()
                    )

    server = ArchiveServer(
        "rag-news",
        title="Chinese news archive",
        instructions=INSTRUCTIONS,
        version=_version(),
        log_level="WARNING",
    )
    tools = ArchiveTools(archive)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    for tool, title, description in (
        (tools.search, "Search the news archive", SEARCH_HELP),
        (tools.ask, "Answer from the news archive", ASK_HELP),
        (tools.timeline, "A story's timeline", TIMELINE_HELP),
        (tools.get_article, "Read an article", ARTICLE_HELP),
    ):
        server.add_tool(tool, title=title, description=description, annotations=read_only)
    return server


def _fixable_problem(error: Exception) -> str | None:
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


@dataclass(frozen=True)
class Refusal:
    """The JSON-RPC error owed for a stdio line: its code, message and request id."""

    code: int
    message: str
    id: str | int | None


def refusal_for(line: str) -> Refusal | None:
    """The error to answer a stdio ``line`` with, or None: it is a message the SDK reads,
    or one JSON-RPC owes no answer (a blank line, a notification, a response).

    JSON-RPC 2.0: -32700 with id null for what is not JSON; -32600 for what is not a
    request object (a batch, which MCP does not use, a wrong ``jsonrpc``, ``method``,
    ``id`` or ``params`` type), with the request's id when it has a valid one; -32602 for
    a request whose params are a list (MCP's params are named). A request whose params
    object does not fit its method reaches the SDK, which answers -32602 itself.
    """
    from mcp.types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, jsonrpc_message_adapter

    if not line.strip():
        return None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return Refusal(PARSE_ERROR, "Parse error: the line is not JSON", None)
    if isinstance(message, list):
        return Refusal(
            INVALID_REQUEST,
            "Invalid Request: batches are not supported, send one message a line",
            None,
        )
    if not isinstance(message, dict):
        return Refusal(INVALID_REQUEST, "Invalid Request: not a JSON-RPC message object", None)
    if "method" not in message and ("result" in message or "error" in message):
        return None  # a response to the server, never answered
    request_id = message.get("id")
    problem = _envelope_problem(message)
    if problem:
        known_id = request_id if _is_request_id(request_id) else None
        return Refusal(INVALID_REQUEST, f"Invalid Request: {problem}", known_id)
    if "id" not in message:
        return None  # a notification, never answered, even with params it cannot use
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValueError:
        return Refusal(
            INVALID_PARAMS, "Invalid params: MCP takes named params (an object)", request_id
        )
    return None


def _envelope_problem(message: dict[str, Any]) -> str | None:
    if message.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"'
    if not isinstance(message.get("method"), str):
        return "method must be a string" if "method" in message else "no method"
    if "id" in message and not _is_request_id(message["id"]):  # MCP: never null
        return "id must be a string or a whole number"
    if not isinstance(message.get("params", {}), dict | list):
        return "params must be an object"
    return None


def _is_request_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class ScreenedStdin(anyio.AsyncFile[str]):
    """The client's stdin as the SDK's stdio transport reads it (``async for line``), less
    the lines ``refusal_for`` refuses, which are answered through ``reply_through``.

    The SDK's transport passes each line to its JSON-RPC model and, when that fails, hands
    the server an exception that neither holds the line nor is answered; its hooks
    (``on_stream_exception``, middleware) see only that exception or valid messages, so
    the request id is gone. Screening the line before the SDK sees it keeps the id, and
    the SDK's own stdout writer sends the error, so replies never interleave.
    """

    def __init__(self, wire: TextIO) -> None:
        super().__init__(wire)
        self._send: Callable[[SessionMessage], Awaitable[None]] | None = None
        self._ready = anyio.Event()

    def reply_through(self, send: Callable[[SessionMessage], Awaitable[None]]) -> None:
        """Send refusals with ``send`` (the transport's write stream's ``send``)."""
        self._send = send
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in super().__aiter__():
            refusal = refusal_for(line)
            if refusal is None:
                yield line
                continue
            await self._ready.wait()
            assert self._send is not None
            await self._send(_error_message(refusal))


def _error_message(refusal: Refusal) -> SessionMessage:
    from mcp.shared.message import SessionMessage
    from mcp.types import ErrorData, JSONRPCError

    error = ErrorData(code=refusal.code, message=refusal.message)
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=refusal.id, error=error))


@contextmanager
def _client_stdin() -> Iterator[TextIO]:
    """The client's stdin, UTF-8, on a descriptor of its own; meanwhile fd 0 reads the null
    device, as under the SDK's own transport, so nothing a tool runs takes its messages."""
    wire = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    try:
        # never closed: a thread may still be blocked reading it when serving stops
        raw = os.fdopen(wire, "rb", closefd=False)
        yield io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
    finally:
        os.dup2(wire, 0)


def _version() -> str:
    try:
        return metadata.version("rag-news")
    except metadata.PackageNotFoundError:
        return ""


def serve(
    settings: Settings,
    *,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = DEFAULT_HTTP_PORT,
) -> None:
    """Serve the archive of ``settings.index_dir`` over stdio, or streamable HTTP at
    ``http://host:port/mcp``, until the client leaves or the process is interrupted."""
    server = create_server(Archive(settings))
    if http:
        server.run("streamable-http", host=host, port=port, streamable_http_path=HTTP_PATH)
    else:
        server.run("stdio")
