"""The HTTP API and the search page: ``create_app(settings)`` returns the FastAPI app.

Every route answers JSON and declares what it sends: its 200 body is a model of
``rag.schemas`` and every error is ``{"error": "..."}`` (``ErrorBody``) with a documented
status (``rag.web.guards``), never a traceback. The routes live on ``router``; each makes
one call to the app's ``Archive``, which a dependency hands it from ``app.state``.
Searches are synchronous endpoints, so FastAPI runs them in its threadpool; the archive
gives each call one index version from start to end. Only requests addressed to a name
the server is served under are answered (421 for any other Host, against DNS rebinding).
``/docs`` shows the OpenAPI document with Swagger UI served from here (``rag.web.docs``).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.middleware.base import BaseHTTPMiddleware

from rag import __version__
from rag.archive import Archive
from rag.config import API_MAX_K, API_MAX_QUESTION_CHARS, Settings, served_hosts
from rag.records import FollowUp, SearchOptions
from rag.schemas import (
    ArticleResponse,
    ErrorBody,
    HealthResponse,
    Mode,
    SearchResponse,
    TimelineResponse,
    WatchesResponse,
)
from rag.serialize import (
    answer_to_dict,
    article_detail_to_dict,
    followup_to_dict,
    search_to_dict,
    timeline_to_dict,
    watch_latest_to_dict,
)
from rag.web.docs import add_docs
from rag.web.guards import (
    EXCEPTION_HANDLERS,
    BodyLimit,
    RequestLimit,
    ServedHosts,
    error_response,
    error_status,
    security_headers,
)
from rag.web.watch_routes import FEED_ITEMS, feed_path
from rag.web.watch_routes import router as watch_router

__all__ = ["MAX_BODY_BYTES", "VERSION_HEADER", "create_app", "error_status", "router"]

MAX_K = API_MAX_K
MAX_QUERY_CHARS = API_MAX_QUESTION_CHARS
MAX_PREVIOUS = 8  # earlier questions a follow-up is read against
MAX_BODY_BYTES = 64 * 1024
WATCH_ITEMS = 10  # items listed per watch unless asked for more (at most FEED_ITEMS)
MAX_REQUESTS = 256  # in flight at once; more are refused with a 503
VERSION_HEADER = "X-Index-Version"
STATIC = resources.files("rag.web") / "static"

DESCRIPTION = f"""\
Search a Chinese news archive by meaning and keyword, read a cited extractive answer,
a story's timeline, or a whole article. The page at `/` uses these routes.

Every successful answer carries the index version it was read from in the
`{VERSION_HEADER}` header. Every error is a JSON object `{{"error": "..."}}` whose one
line says what went wrong, with one of the statuses listed under each route.
"""

# What each error status means, for every route that can answer it
ERRORS: dict[int, str] = {
    400: "The question cannot be searched: it is blank, a date is not YYYY-MM-DD, or "
    "since comes after until.",
    403: "Sent by a page on another site (its Origin header); refused.",
    404: "No article with this id in the live index.",
    413: f"The request body is over {MAX_BODY_BYTES} bytes.",
    421: "Addressed to a host name the server does not answer to (see allowed_hosts).",
    422: "A parameter is missing, unknown, of the wrong type or out of range, or the body "
    "is not a JSON object.",
    500: "An unexpected failure; the server log has the details.",
    503: "No usable index: none built yet, the first build still running, damaged or "
    "unreadable, or one the server cannot open; or the server is answering as many "
    "requests as it takes (then with Retry-After).",
}
# what the guards and the archive can answer on any route
EVERY_ROUTE = (403, 413, 421, 500, 503)


def answers(
    description: str, *errors: int, meaning: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The documented responses of a route: its 200 (with the version header) and the
    error statuses it can send besides those of every route, all with ``ErrorBody``;
    ``meaning`` says what a status means on this route where ERRORS does not."""
    version = {
        "description": "The index version the answer was read from.",
        "schema": {"type": "string"},
    }
    documented: dict[int | str, dict[str, Any]] = {
        200: {"description": description, "headers": {VERSION_HEADER: version}}
    }
    for status in sorted({*errors, *EVERY_ROUTE}):
        said = (meaning or {}).get(status, ERRORS[status])
        documented[status] = {"model": ErrorBody, "description": said}
    return documented


class SearchParams(BaseModel):
    """The parameters of /api/search, /api/ask and /api/timeline (query string for GET,
    JSON body for POST)."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The question.")
    k: int | None = Field(
        None, ge=1, le=MAX_K, description="Number of passages [default: top_k, 5]."
    )
    mode: Mode | None = Field(
        None, description="hybrid (default): meaning and keywords; dense; keyword."
    )
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
    previous: list[Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)]] = Field(
        [],
        max_length=MAX_PREVIOUS,
        description="The conversation's earlier questions, oldest first: a follow-up such "
        "as 那甲烷呢？ is completed from them (search and ask say how in follow_up).",
    )

    @field_validator("k", "per_article", "per_source", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        """JSON's true/false is not a number (pydantic would read false as 0), as the
        OpenAPI document says."""
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not true or false")
        return value


class SearchBody(SearchParams):
    """The same parameters as a JSON body. A body says what type each value is, so "5"
    where the document says integer is a 422, as true/false is (the query string has
    only strings, which are read as numbers)."""

    @field_validator("k", "per_article", "per_source", mode="before")
    @classmethod
    def _a_json_number(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError("must be a number, not a string")
        return value


def _options(params: SearchParams) -> SearchOptions:
    return SearchOptions.parse(**params.model_dump(exclude={"q", "previous"}))


def _search_text(
    params: SearchParams, archive: Archive
) -> tuple[str, SearchOptions, FollowUp | None]:
    return archive.after(params.q, params.previous, _options(params))


def _versioned(data: dict[str, Any], version: str) -> JSONResponse:
    return JSONResponse(data, headers={VERSION_HEADER: version})


async def app_archive(request: Request) -> Archive:
    """The app's one archive (async: it only reads app.state, so it takes no worker thread)."""
    archive: Archive = request.app.state.archive
    return archive


AppArchive = Annotated[Archive, Depends(app_archive)]
router = APIRouter()

SEARCHED = answers("The ranked passages; answer is null.", 400, 422)
ASKED = answers("The ranked passages and a cited extractive answer.", 400, 422)
TIMELINE = answers("The story's articles, oldest first.", 400, 422)


@router.get(
    "/api/search",
    tags=["search"],
    operation_id="search",
    summary="Search the archive",
    response_model=SearchResponse,
    responses=SEARCHED,
)
def search_get(params: Annotated[SearchParams, Query()], archive: AppArchive) -> Response:
    """Ranked passages, the object ``rag ask --no-answer --json`` prints."""
    text, options, followup = _search_text(params, archive)
    result = archive.search(text, options)
    data = search_to_dict(result)
    data["answer"] = None  # the shape of ``rag ask --no-answer --json``
    if followup is not None:
        data["follow_up"] = followup_to_dict(followup)
    return _versioned(data, result.version)


@router.post(
    "/api/search",
    tags=["search"],
    operation_id="search_post",
    summary="Search the archive (JSON body)",
    response_model=SearchResponse,
    responses=SEARCHED,
)
def search_post(params: Annotated[SearchBody, Body()], archive: AppArchive) -> Response:
    """As GET, with the parameters in a JSON body."""
    return search_get(params, archive)


@router.get(
    "/api/ask",
    tags=["search"],
    operation_id="ask",
    summary="Answer with citations",
    response_model=SearchResponse,
    responses=ASKED,
)
def ask_get(params: Annotated[SearchParams, Query()], archive: AppArchive) -> Response:
    """The passages and a cited extractive answer, as ``rag ask --json`` prints."""
    # The LLM answer is left to the CLI for now: it can hold a worker thread for a
    # minute, and would want streaming to the page.
    text, options, followup = _search_text(params, archive)
    asked = archive.ask(text, options)
    data = search_to_dict(asked.result)
    data["answer"] = answer_to_dict(asked.answer)
    if followup is not None:
        data["follow_up"] = followup_to_dict(followup)
    return _versioned(data, asked.result.version)


@router.post(
    "/api/ask",
    tags=["search"],
    operation_id="ask_post",
    summary="Answer with citations (JSON body)",
    response_model=SearchResponse,
    responses=ASKED,
)
def ask_post(params: Annotated[SearchBody, Body()], archive: AppArchive) -> Response:
    """As GET, with the parameters in a JSON body."""
    return ask_get(params, archive)


@router.get(
    "/api/timeline",
    tags=["search"],
    operation_id="timeline",
    summary="A story's timeline",
    response_model=TimelineResponse,
    responses=TIMELINE,
)
def timeline_get(params: Annotated[SearchParams, Query()], archive: AppArchive) -> Response:
    """The articles about a story in date order, as ``rag timeline --json`` prints."""
    text, options, _ = _search_text(params, archive)
    found = archive.timeline(text, options)
    return _versioned(timeline_to_dict(found), found.version)


@router.post(
    "/api/timeline",
    tags=["search"],
    operation_id="timeline_post",
    summary="A story's timeline (JSON body)",
    response_model=TimelineResponse,
    responses=TIMELINE,
)
def timeline_post(params: Annotated[SearchBody, Body()], archive: AppArchive) -> Response:
    """As GET, with the parameters in a JSON body."""
    return timeline_get(params, archive)


@router.get(
    "/api/articles/{article_id}",
    tags=["articles"],
    operation_id="get_article",
    summary="Read an article",
    response_model=ArticleResponse,
    responses=answers("The article.", 404, 422),
)
def article(article_id: Annotated[str, PathParam(max_length=200)], archive: AppArchive) -> Response:
    """The cleaned article with its metadata and each passage's offsets in ``text``."""
    found = archive.article(article_id)
    if found is None:
        return error_response(404, f"no article {article_id!r} in the index")
    return _versioned(article_detail_to_dict(found), found.version)


@router.get(
    "/api/health",
    tags=["index"],
    operation_id="health",
    summary="The live index",
    response_model=HealthResponse,
    responses=answers("The live index and its counts."),
)
def health(archive: AppArchive) -> Response:
    """The live index version and its counts, named as ``rag index stats`` names them
    (503 when there is no usable index)."""
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
            "source_files": stats.source_files,
            "sources": [{"name": s.name, "articles": s.articles} for s in stats.sources],
        },
        stats.version,
    )


@router.get(
    "/api/watches",
    tags=["watches"],
    operation_id="list_watches",
    summary="The watches and what each reported",
    response_model=WatchesResponse,
    responses=answers(
        "Every watch, oldest first, with the items its checks reported last.",
        422,
        meaning={503: ERRORS[503] + " Or the watches' store cannot be read."},
    ),
)
def watches(
    archive: AppArchive,
    limit: Annotated[
        int,
        Query(ge=1, le=FEED_ITEMS, description="Items per watch, the most recently found."),
    ] = WATCH_ITEMS,
) -> Response:
    """Each watch with what its checks reported last, as ``rag watch show`` prints it, and
    its Atom feed. Only reads: nothing is checked, nothing counts as shown."""
    version = archive.version  # the watches of the live index: 503 without one
    listed = [
        watch_latest_to_dict(digest, feed_path(digest.watch.name))
        for digest in archive.watches().latest_each(limit)
    ]
    return _versioned({"watches": listed}, version)


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
        description=DESCRIPTION,
        version=__version__,
        docs_url=None,  # rag.web.docs serves its own, with no CDN
        redoc_url=None,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.archive = Archive(settings)
    # the last added runs first: security headers go on every response, a 421 or 413
    # included; a request to another host is refused before its body is read
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(RequestLimit, limit=MAX_REQUESTS)
    app.add_middleware(ServedHosts, names=served_hosts(settings, host))
    app.add_middleware(BaseHTTPMiddleware, dispatch=security_headers)
    app.include_router(router)
    app.include_router(watch_router)
    add_docs(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
