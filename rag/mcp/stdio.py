"""Over stdio, every line the client sends gets the reply JSON-RPC owes it: a line that
is not a request is refused with its error before the SDK sees it."""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import anyio

if TYPE_CHECKING:
    from mcp.shared.message import SessionMessage


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
def client_stdin() -> Iterator[TextIO]:
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
