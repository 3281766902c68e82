"""A real HTTP server on 127.0.0.1 speaking OpenAI's chat-completions protocol, for tests.

Each test sets ``server.behaviour`` (what to answer) and reads ``server.requests`` (what
the client sent: path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Behaviour:
    """What the server does with the next requests.

    ``kind``: ``stream`` (SSE chunks of ``tokens`` then ``[DONE]``), ``json`` (one
    non-streamed completion), ``status`` (HTTP ``status`` with an error body),
    ``hang`` (headers never sent), ``trickle`` (SSE comments forever), ``loop`` (SSE
    chunks of ``tokens`` over and over, like a model stuck in a loop), ``raw`` (send
    ``raw`` bytes as an event stream). ``finish_reason`` ends a stream or completion.
    """

    kind: str = "stream"
    tokens: list[str] = field(default_factory=list)
    status: int = 500
    raw: bytes = b""
    finish_reason: str = "stop"


def _data(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events).encode()


def content_events(tokens: list[str], model: str = "test-model") -> bytes:
    """One chat-completion chunk event per token (the middle of a stream)."""
    return _data(
        [{"choices": [{"index": 0, "delta": {"content": t}}], "model": model} for t in tokens]
    )


def sse(tokens: list[str], model: str = "test-model", finish_reason: str = "stop") -> bytes:
    """A well-formed chat-completions event stream carrying ``tokens``."""
    start = _data([{"choices": [{"index": 0, "delta": {"role": "assistant"}}], "model": model}])
    end = _data([{"choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]}])
    return start + content_events(tokens, model) + end + b"data: [DONE]\n\n"


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = Behaviour()
        self.requests: list[Received] = []
        self.stop = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(Received(self.path, dict(self.headers.items()), body))
        behaviour = self.server.behaviour
        if behaviour.kind == "hang":
            self.server.stop.wait(30)
            return
        if behaviour.kind == "status":
            self._send(behaviour.status, "application/json", b'{"error": "model crashed"}')
            return
        if behaviour.kind == "json":
            message = {"role": "assistant", "content": "".join(behaviour.tokens)}
            choice = {"index": 0, "message": message, "finish_reason": behaviour.finish_reason}
            reply = {"choices": [choice]}
            self._send(200, "application/json", json.dumps(reply).encode())
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if behaviour.kind == "trickle":
            try:
                for _ in self._until_stopped():
                    self.wfile.write(b": still thinking\n")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:  # the client gave up, as it should
                pass
            return
        if behaviour.kind == "loop":
            try:
                for _ in self._until_stopped():
                    self.wfile.write(content_events(behaviour.tokens))
                    self.wfile.flush()
                    time.sleep(0.01)
            except OSError:  # the client gave up, as it should
                pass
            return
        if behaviour.kind == "raw":
            payload = behaviour.raw
        else:
            payload = sse(behaviour.tokens, finish_reason=behaviour.finish_reason)
        try:
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client stopped reading (e.g. it cut a looping answer)
            pass

    def _until_stopped(self) -> Iterator[None]:
        deadline = time.monotonic() + 30
        while not self.server.stop.is_set() and time.monotonic() < deadline:
            yield None

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_server() -> ChatServer:
    server = ChatServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_server(server: ChatServer) -> None:
    server.stop.set()
    server.shutdown()
    server.server_close()
