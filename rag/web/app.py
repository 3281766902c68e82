"""The HTTP API and the search page: ``create_app(settings)`` returns the FastAPI app.

Every route answers JSON; expected problems become ``{"error": "..."}`` with a 4xx/503
status, never a traceback. The routes live on ``router``; each makes one call to the
app's ``Archive``, which a dependency hands it from ``app.state``. Searches are
synchronous endpoints, so FastAPI runs them in its threadpool; the archive gives each
call one index version from start to end. Only requests addressed to a name the server
is served under are answered (421 for any other Host, against DNS rebinding).
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.archive import Archive
from rag.config import (
    API_MAX_K,
    API_MAX_QUESTION_CHARS,
    MODES,
    Settings,
    host_header_allowed,
    origin_allowed,
    served_hosts,
)
from rag.errors import (
    EmbedderMismatchError,
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    LLMError,
    RagError,
)
from rag.records import SearchOptions
from rag.serialize import (
    answer_to_dict,
    article_detail_to_dict,
    search_to_dict,
    timeline_to_dict,
)

log = logging.getLogger("rag.web")

MAX_K = API_MAX_K
MAX_QUERY_CHARS = API_MAX_QUESTION_CHARS
MAX_BODY_BYTES = 64 * 1024
VERSION_HEADER = "X-Index-Version"
STATIC = resources.files("rag.web") / "static"
# The page loads nothing from elsewhere and never evaluates strings as code, so the
# policy can be strict: an injected <script> or on* attribute would not run either.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# rag.config.MODES as a type, so the schema lists them (mypy reads no Literal made from a
# tuple; pydantic does)
Mode = Literal[MODES]  # type: ignore[valid-type]


class SearchParams(BaseModel):
    """The parameters of /api/search and /api/ask (query string for GET, JSON for POST)."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The question.")
    k: int | None = Field(None, ge=1, le=MAX_K, description="Number of passages.")
    mode: Mode | None = None
    since: str | None = Field(None, max_length=32, description="YYYY-MM-DD, inclusive.")
    until: str | None = Field(None, max_length=32, description="YYYY-MM-DD, inclusive.")
    source: str | None = Field(None, max_length=200, description="Substring of source/URL.")
    per_article: int | None = Field(None, ge=0, le=MAX_K, description="0: no cap.")
    per_source: int | None = Field(
        None, ge=0, le=MAX_K, description="At most this many passages per outlet; 0: no cap."
    )
    as_of: str | None = Field(
        None, max_length=10, description="YYYY-MM-DD that 上周 / last month count from."
    )


def error_status(exc: RagError) -> int:
    if isinstance(exc, IndexMissingError | IndexCorruptError | IndexLockedError):
        return 503
    if isinstance(exc, EmbedderMismatchError):
        return 503
    if isinstance(exc, LLMError):
        return 502
    return 400


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _error(413, f"request body over {self.limit} bytes")(scope, receive, send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                # Answer now and tell the app the client left: FastAPI would turn an
                # exception raised here into its own 400.
                refused = True
                await _error(413, f"request body over {self.limit} bytes")(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited, send_unless_refused)


class ServedHosts:
    """Answer only requests addressed to one of ``names`` (421 otherwise), and refuse those a
    page on another host sends (its Origin header, 403).

    Against DNS rebinding: a page on a site whose name the attacker then points at this
    machine's address would otherwise read the archive through a visitor's browser, since
    the browser takes the server for part of that site. The rule is rag.config's, shared
    with ``rag mcp --http``.
    """

    def __init__(self, app: ASGIApp, names: frozenset[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            host, origin = headers.get("host"), headers.get("origin")
            if not host_header_allowed(host, self.names):
                shown = repr((host or "")[:100]) if host else "no host"
                message = (
                    f"this server does not answer to {shown}; to serve the archive under "
                    "that name, add it to allowed_hosts (RAG_ALLOWED_HOSTS or the settings file)"
                )
                await _error(421, message)(scope, receive, send)
                return
            if not origin_allowed(origin, self.names):
                message = f"requests from pages at {(origin or '')[:100]!r} are refused"
                await _error(403, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _options(params: SearchParams) -> SearchOptions:
    return SearchOptions.parse(**params.model_dump(exclude={"q"}))


def _versioned(data: dict[str, Any], version: str) -> JSONResponse:
    return JSONResponse(data, headers={VERSION_HEADER: version})


async def rag_error(_request: Request, exc: RagError) -> JSONResponse:
    return _error(error_status(exc), str(exc))


async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'body'))}: "
        f"{e.get('msg', 'invalid')}"
        for e in exc.errors()
    ]
    return _error(422, "; ".join(problems) or "invalid request")


async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return _error(500, "internal error; see the server log")


async def security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.url.path.startswith("/api/"):
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


async def app_archive(request: Request) -> Archive:
    """The app's one archive (async: it only reads app.state, so it takes no worker thread)."""
    archive: Archive = request.app.state.archive
    return archive


AppArchive = Annotated[Archive, Depends(app_archive)]
router = APIRouter()


@router.get("/api/search", tags=["search"])
def search_get(params: Annotated[SearchParams, Query()], archive: AppArchive) -> JSONResponse:
    """Ranked passages, the object ``rag ask --no-answer --json`` prints."""
    result = archive.search(params.q, _options(params))
    data = search_to_dict(result)
    data["answer"] = None  # the shape of ``rag ask --no-answer --json``
    return _versioned(data, result.version)


@router.post("/api/search", tags=["search"])
def search_post(params: Annotated[SearchParams, Body()], archive: AppArchive) -> JSONResponse:
    """As GET, with the parameters in a JSON body."""
    return search_get(params, archive)


@router.get("/api/ask", tags=["search"])
def ask_get(params: Annotated[SearchParams, Query()], archive: AppArchive) -> JSONResponse:
    """The passages and a cited extractive answer, as ``rag ask --json`` prints."""
    # The LLM answer is left to the CLI for now: it can hold a worker thread for a
    # minute, and would want streaming to the page.
    asked = archive.ask(params.q, _options(params))
    data = search_to_dict(asked.result)
    data["answer"] = answer_to_dict(asked.answer)
    return _versioned(data, asked.result.version)


@router.post("/api/ask", tags=["search"])
def ask_post(params: Annotated[SearchParams, Body()], archive: AppArchive) -> JSONResponse:
    """As GET, with the parameters in a JSON body."""
    return ask_get(params, archive)


@router.get("/api/timeline", tags=["search"])
def timeline_get(params: Annotated[SearchParams, Query()], archive: AppArchive) -> JSONResponse:
    """The articles about a story in date order, as ``rag timeline --json`` prints."""
    found = archive.timeline(params.q, _options(params))
    return _versioned(timeline_to_dict(found), found.version)


@router.post("/api/timeline", tags=["search"])
def timeline_post(params: Annotated[SearchParams, Body()], archive: AppArchive) -> JSONResponse:
    """As GET, with the parameters in a JSON body."""
    return timeline_get(params, archive)


@router.get("/api/articles/{article_id}", tags=["articles"])
def article(
    article_id: Annotated[str, PathParam(max_length=200)], archive: AppArchive
) -> JSONResponse:
    """The cleaned article with its metadata and each passage's offsets in ``text``."""
    found = archive.article(article_id)
    if found is None:
        return _error(404, f"no article {article_id!r} in the index")
    return _versioned(article_detail_to_dict(found), found.version)


@router.get("/api/health", tags=["index"])
def health(archive: AppArchive) -> JSONResponse:
    """The live index version and its counts (503 when there is no usable index)."""
    stats = archive.stats()
    return _versioned(
        {
            "status": "ok",
            "index": stats.index,
            "version": stats.version,
            "built_at": stats.built_at,
            "embedder": stats.embedder,
            "articles": stats.articles,
            "passages": stats.passages,
            "sources": stats.source_files,
        },
        stats.version,
    )


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(str(STATIC / "index.html"), media_type="text/html; charset=utf-8")


def create_app(settings: Settings, host: str | None = None) -> FastAPI:
    """The API and page over ``settings.index_dir`` (loaded on first use, then shared).

    They answer to the loopback names, to ``host`` (the address the server listens on)
    unless it is every interface, and to ``settings.allowed_hosts``.
    """
    app = FastAPI(
        title="rag-news",
        summary="Semantic search and cited answers over Chinese news articles.",
        version="1",
        docs_url=None,  # the bundled docs pages load scripts from a CDN; use /openapi.json
        redoc_url=None,
        exception_handlers={
            RagError: rag_error,
            RequestValidationError: invalid_request,
            StarletteHTTPException: http_error,
            Exception: unexpected,
        },
    )
    app.state.archive = Archive(settings)
    # the last added runs first: security headers go on every response, a 421 or 413
    # included; a request to another host is refused before its body is read
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(ServedHosts, names=served_hosts(settings, host))
    app.add_middleware(BaseHTTPMiddleware, dispatch=security_headers)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
