"""A streaming client for any OpenAI-compatible ``/chat/completions`` endpoint.

Ollama, llama.cpp's ``llama-server``, vLLM and LM Studio all speak it. Every failure
(unreachable, HTTP error, silence, a server that never stops, a reply that is not the
chat-completions shape) becomes one ``LLMError`` whose message says what to check. A
reply that starts repeating itself is cut where the repetition begins and the stream
closed, so a small model caught in a loop costs seconds, not the whole timeout.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from rag.answer.repetition import RepetitionGuard
from rag.config import Settings
from rag.errors import LLMError

CONNECT_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 2_000_000
# Terminal control characters (ANSI escapes and the like) are dropped from generated
# text: the model may echo them from an article, and they could rewrite the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ChatReply:
    """The assistant's text and why it ended: ``stop`` (the model finished), ``length``
    (it hit ``max_tokens``), ``repetition`` (cut here: it began repeating itself), or
    None when the server did not say."""

    text: str
    finish_reason: str | None = None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ChatClient:
    """Streams chat completions from ``base_url``.

    ``timeout`` bounds the whole answer: connecting (at most ``CONNECT_TIMEOUT``), any
    silence between bytes, and the total time until the last token.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        temperature: float = 0.1,
        max_tokens: int = 512,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise LLMError(f"LLM base URL {base_url!r} must start with http:// or https://")
        if timeout <= 0:
            raise LLMError("the LLM timeout must be a positive number of seconds")
        if max_tokens < 1:
            raise LLMError("the LLM's max_tokens must be 1 or more")
        base = base_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient:
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key,
            settings.llm_timeout,
            max_tokens=settings.llm_max_tokens,
        )

    def stream_chat(
        self,
        messages: Sequence[Mapping[str, str]],
        on_token: Callable[[str], None] | None = None,
    ) -> ChatReply:
        """The assistant's reply to ``messages``; ``on_token`` sees each piece as it arrives.

        Only standard chat-completions fields are sent (a low ``temperature`` and
        ``max_tokens``), so any OpenAI-compatible server accepts the request.
        """
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "stream": True,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT))
        deadline = time.monotonic() + self.timeout
        guard = RepetitionGuard()
        cut: int | None = None
        finish: str | None = None

        def emit(piece: str, reason: str | None) -> bool:
            """Pass ``piece`` on; False once the reply loops and reading should stop."""
            nonlocal cut, finish
            finish = reason or finish
            piece = _CONTROL.sub("", piece)
            if not piece:
                return True
            if on_token is not None:
                on_token(piece)
            cut = guard.add(piece)
            return cut is None

        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False) as client,
                client.stream("POST", self.url, json=body, headers=headers) as response,
            ):
                self._check_status(response)
                chunks = self._bounded(response.iter_bytes(), deadline)
                if "application/json" in response.headers.get("content-type", ""):
                    emit(*_message_content(_parse_json(b"".join(chunks), self.url), self.url))
                else:
                    for payload in _sse_data(chunks, self.url):
                        # Leaving the loop closes the stream: the server stops generating.
                        if not emit(*_delta_content(_parse_json(payload, self.url), self.url)):
                            break
        except httpx.TimeoutException:
            raise LLMError(
                f"the LLM at {self.url} did not answer within {self.timeout:g}s; "
                "is the model loaded? raise --llm-timeout"
            ) from None
        except httpx.ConnectError as exc:
            raise LLMError(
                f"cannot reach the LLM at {self.url} ({_one_line(str(exc), 80)}); "
                "is the server running? set --llm-url or RAG_LLM_BASE_URL"
            ) from None
        except httpx.HTTPError as exc:
            raise LLMError(
                f"the connection to the LLM at {self.url} failed: {_one_line(str(exc), 120)}"
            ) from None
        if cut is not None:
            text, finish = guard.text[:cut].strip(), "repetition"
        else:
            text = guard.text.strip()
        if not text:
            raise LLMError(f"the LLM at {self.url} returned an empty answer")
        return ChatReply(text, finish)

    def _check_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        detail = _one_line(response.read()[:1000].decode("utf-8", "replace"))
        hint = ""
        if response.status_code == 404:
            hint = " (does the base URL end in /v1, and is the model name right?)"
        elif response.status_code in (401, 403):
            hint = " (set the API key with RAG_LLM_API_KEY or [llm] api_key)"
        raise LLMError(
            f"the LLM at {self.url} answered HTTP {response.status_code}{hint}: {detail or '-'}"
        )

    def _bounded(self, chunks: Iterator[bytes], deadline: float) -> Iterator[bytes]:
        """``chunks`` until the deadline or the size limit, whichever comes first."""
        total = 0
        for chunk in chunks:
            total += len(chunk)
            if time.monotonic() > deadline:
                raise LLMError(
                    f"the LLM at {self.url} was still sending after {self.timeout:g}s; "
                    "cut off (raise --llm-timeout for long answers)"
                )
            if total > MAX_RESPONSE_BYTES:
                raise LLMError(f"the LLM at {self.url} sent more than {MAX_RESPONSE_BYTES} bytes")
            yield chunk


def _sse_data(chunks: Iterator[bytes], url: str) -> Iterator[bytes]:
    """The ``data:`` payloads of a server-sent event stream, up to ``[DONE]``."""
    buffer = b""
    seen_data = False
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r")
            if not line or line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if field in (b"event", b"id", b"retry"):
                continue
            if field != b"data":
                raise LLMError(
                    f"the LLM at {url} sent something that is not a server-sent event "
                    f"stream: {_one_line(line[:120].decode('utf-8', 'replace'))!r}"
                )
            payload = value.strip()
            if payload == b"[DONE]":
                return
            seen_data = True
            yield payload
    if buffer.strip() or not seen_data:
        raise LLMError(f"the LLM at {url} ended its stream without any chat-completion event")


def _parse_json(payload: bytes, url: str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise LLMError(
            f"the LLM at {url} sent malformed JSON: "
            f"{_one_line(payload[:120].decode('utf-8', 'replace'))!r}"
        ) from None


def _first_choice(data: Any, url: str) -> dict[str, Any] | None:
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise LLMError(f"the LLM at {url} reported an error: {_one_line(str(message))}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise LLMError(f"the LLM at {url} did not answer in the chat-completions format")
    if not choices:  # e.g. a final usage-only chunk
        return None
    if not isinstance(choices[0], dict):
        raise LLMError(f"the LLM at {url} did not answer in the chat-completions format")
    return choices[0]


def _finish_reason(choice: dict[str, Any]) -> str | None:
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) else None


def _delta_content(data: Any, url: str) -> tuple[str, str | None]:
    """The text of one streamed chunk and its ``finish_reason`` (None until the last)."""
    choice = _first_choice(data, url)
    if choice is None:
        return "", None
    delta = choice.get("delta", choice.get("message"))
    content = delta.get("content") if isinstance(delta, dict) else None
    if content is not None and not isinstance(content, str):
        raise LLMError(f"the LLM at {url} sent a non-text content field")
    return content or "", _finish_reason(choice)


def _message_content(data: Any, url: str) -> tuple[str, str | None]:
    """A non-streamed reply (servers that ignore ``stream``) and its ``finish_reason``."""
    choice = _first_choice(data, url)
    message = choice.get("message") if choice else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or choice is None:
        raise LLMError(f"the LLM at {url} did not answer in the chat-completions format")
    return content, _finish_reason(choice)
