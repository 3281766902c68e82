"""What the HTTP API answers before and instead of a route: the Host, Origin and body-size
guards, and every error as ``{"error": "..."}`` (``rag.schemas.ErrorBody``) with the
status ``error_status`` gives it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import host_header_allowed, origin_allowed
from rag.errors import (
    EmbedderMismatchError,
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexWriteError,
    LLMError,
    MissingDependencyError,
    RagError,
    WatchError,
    WatchNotFoundError,
)

log = logging.getLogger("rag.web")

# The index is missing, damaged, unreadable, locked or cannot be written, or the server
# lacks what opening it takes: the server cannot answer now, whatever the request. By
# base class, so every subclass (a damaged file, a full disk) is a 503 too.
UNAVAILABLE: tuple[type[RagError], ...] = (
    IndexMissingError,
    IndexCorruptError,
    IndexLockedError,
    IndexWriteError,
    EmbedderMismatchError,
    MissingDependencyError,
)
# The page loads nothing from elsewhere and never evaluates strings as code, so the
# policy can be strict: an injected <script> or on* attribute would not run either.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def error_status(exc: RagError) -> int:
    """503 for an index the server cannot use, 502 for a failed LLM, 400 for the request."""
    if isinstance(exc, UNAVAILABLE):
        return 503
    if isinstance(exc, LLMError):
        return 502
    if isinstance(exc, WatchNotFoundError):
        return 404
    if isinstance(exc, WatchError):  # the routes only read watches: their store is unusable
        return 503
    return 400


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def rag_error(_request: Request, exc: RagError) -> Response:
    return error_response(error_status(exc), str(exc))


async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
    problems = [
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'body', 'path'))}: "
        f"{e.get('msg', 'invalid')}"
        for e in exc.errors()
    ]
    return error_response(422, "; ".join(problems) or "invalid request")


async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def storage_error(request: Request, exc: Exception) -> Response:
    """An OS or SQLite error a request meets can only come from reading the index."""
    log.exception("reading the index failed on %s", request.url.path)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return error_response(503, f"the index cannot be read ({detail}); see the server log")


async def unexpected(request: Request, _exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    return error_response(500, "internal error; see the server log")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    RagError: rag_error,
    RequestValidationError: invalid_request,
    StarletteHTTPException: http_error,
    OSError: storage_error,
    sqlite3.Error: storage_error,
    Exception: unexpected,
}


async def security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.url.path.startswith("/api/"):
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = error_response(413, f"request body over {self.limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await too_big(scope, receive, send)
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
                await too_big(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited, send_unless_refused)


class RequestLimit:
    """At most ``limit`` requests in flight; past that a 503 at once, with Retry-After,
    rather than a queue that grows without end (or uvicorn's own plain-text 503)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            message = f"the server is answering {self.limit} requests already; try again shortly"
            await error_response(503, message, {"Retry-After": "1"})(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


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
                await error_response(421, message)(scope, receive, send)
                return
            if not origin_allowed(origin, self.names):
                message = f"requests from pages at {(origin or '')[:100]!r} are refused"
                await error_response(403, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)
