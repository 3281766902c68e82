"""HTTP for feeds: a polite client and a per-host scheduler.

Every request has connect/read timeouts and an overall deadline, a size cap, an honest
User-Agent and redirects followed by hand (so a loop is named as one). Connection
errors, 5xx and 429 are retried with exponential backoff (a Retry-After is honoured up
to a minute); a read timeout is not, since the server answered and then stalled.
Requests to one host run one after another; different hosts run side by side.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

import rag
from rag.config import Settings
from rag.text.charsets import CHARSET_NAME, META_CHARSET, codec_for

USER_AGENT = f"rag-news/{rag.__version__} (+local archive tool)"
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 60.0
# The whole response may take this many times the (per-read) timeout: a server that
# trickles a byte now and then never trips a read timeout.
DEADLINE_FACTOR = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_SNIFF = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_META_CHARSET = re.compile(META_CHARSET + CHARSET_NAME, re.IGNORECASE)


class FetchFailed(Exception):
    """A request that gave nothing usable; ``str()`` is the one-line reason."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


@dataclass(frozen=True)
class Response:
    """A finished response: final URL, status, media type (lower case, no parameters)."""

    url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Page:
    """An item's web page, decoded."""

    url: str
    html: str


def is_http_url(url: str | None) -> bool:
    if not url or any(c.isspace() for c in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class Fetcher:
    """GET with timeouts, a size cap, retries and checked redirects. Thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.feed_timeout
        self.max_mb = settings.feed_max_mb
        self.max_bytes = int(settings.feed_max_mb * 1_000_000)
        self.retries = settings.feed_retries
        self.backoff = settings.feed_backoff
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            limits=httpx.Limits(max_connections=2 * settings.feed_workers),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """The response to GET ``url`` after redirects; transient failures are retried.

        Raises ``FetchFailed``. Statuses of 400 and above other than 429/5xx come back
        as they are (without a body): the caller decides what they mean.
        """
        for attempt in range(self.retries + 1):
            delay = self.backoff * 2**attempt
            try:
                response = self._follow(url, headers or {})
            except FetchFailed as exc:
                if not exc.transient or attempt == self.retries:
                    raise FetchFailed(_tries(str(exc), attempt)) from None
            else:
                if response.status != 429 and response.status < 500:
                    return response
                if attempt == self.retries:
                    raise FetchFailed(_tries(status_text(response.status), attempt))
                if response.retry_after is not None:
                    delay = min(response.retry_after, MAX_RETRY_AFTER)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(self, url: str, headers: Mapping[str, str]) -> Response:
        deadline = time.monotonic() + DEADLINE_FACTOR * self.timeout
        seen = [url]
        while True:
            response = self._once(seen[-1], headers, deadline)
            if response.status not in (301, 302, 303, 307, 308) or not response.url:
                return response
            target = response.url  # _once puts the resolved Location here for a redirect
            if target in seen:
                raise FetchFailed(f"redirect loop ({seen[-1]} redirects back to {target})")
            if len(seen) > MAX_REDIRECTS:
                raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
            if not is_http_url(target):
                raise FetchFailed(f"redirected to {target[:200]}, not an http(s) URL")
            seen.append(target)

    def _once(self, url: str, headers: Mapping[str, str], deadline: float) -> Response:
        try:
            with self._client.stream("GET", url, headers=dict(headers)) as r:
                status = r.status_code
                target = str(r.url)
                body = b""
                if r.has_redirect_location:
                    target = str(r.url.join(r.headers["location"]))
                elif 200 <= status < 300:
                    body = self._read(r, deadline)
                return Response(
                    url=target,
                    status=status,
                    content_type=r.headers.get("content-type", "").split(";")[0].strip().lower(),
                    charset=r.charset_encoding,
                    body=body,
                    etag=r.headers.get("etag"),
                    last_modified=r.headers.get("last-modified"),
                    retry_after=_seconds(r.headers.get("retry-after")),
                )
        except httpx.ConnectTimeout:
            raise FetchFailed(f"no connection within {self.timeout:g} s", transient=True) from None
        except httpx.ReadTimeout:
            raise FetchFailed(f"timed out (no data for {self.timeout:g} s)") from None
        except httpx.TimeoutException:
            raise FetchFailed(f"timed out after {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise FetchFailed(f"cannot connect ({_reason(exc)})", transient=True) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise FetchFailed(f"connection broken ({_reason(exc)})", transient=True) from None
        except httpx.UnsupportedProtocol:
            raise FetchFailed("not an http(s) URL") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchFailed(f"request failed ({_reason(exc)})") from None

    def _read(self, r: httpx.Response, deadline: float) -> bytes:
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailed(f"larger than {self.max_mb:g} MB ({int(declared):,} bytes)")
        body = bytearray()
        for chunk in r.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchFailed(f"larger than {self.max_mb:g} MB")
            if time.monotonic() > deadline:
                raise FetchFailed(
                    f"took longer than {DEADLINE_FACTOR * self.timeout:g} s to download"
                )
        return bytes(body)


def fetch_page(fetcher: Fetcher, url: str) -> Page:
    """An item's page as HTML text; ``FetchFailed`` when it is missing, too big or not HTML."""
    response = fetcher.get(url)
    if not 200 <= response.status < 300:
        raise FetchFailed(status_text(response.status))
    if not _is_html(response):
        raise FetchFailed(f"not an HTML page ({response.content_type or 'no content type'})")
    if not response.body.strip():
        raise FetchFailed("empty page")
    return Page(response.url, decode_html(response.body, response.charset))


def decode_html(body: bytes, charset: str | None) -> str:
    """Text of an HTML page: the HTTP charset, else its <meta charset>, else UTF-8, else a guess."""
    match = _META_CHARSET.search(body[:4096])
    declared = match.group(1).decode("ascii") if match else None
    for codec in (charset, declared, "utf-8"):
        if not codec:
            continue
        try:
            return body.decode(codec_for(codec))
        except (LookupError, UnicodeDecodeError):
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    return str(best) if best is not None else body.decode("utf-8", errors="replace")


def _is_html(response: Response) -> bool:
    if response.content_type in _HTML_TYPES:
        return True
    return not response.content_type and bool(_HTML_SNIFF.search(response.body[:2048]))


J = TypeVar("J")
R = TypeVar("R")


def run_by_host(
    jobs: Sequence[J], url_of: Callable[[J], str], work: Callable[[J], R], workers: int
) -> Iterator[tuple[J, R | FetchFailed]]:
    """Run ``work`` on every job, yielding ``(job, result or FetchFailed)`` as each ends.

    Jobs whose URLs share a host run one after another in the order given; up to
    ``workers`` hosts run at once. Closing the iterator early stops the workers before
    their next job.
    """
    groups: dict[str, list[J]] = {}
    for job in jobs:
        groups.setdefault(urlsplit(url_of(job)).netloc.lower(), []).append(job)
    waiting: queue.SimpleQueue[list[J]] = queue.SimpleQueue()
    for group in groups.values():
        waiting.put(group)
    results: queue.SimpleQueue[tuple[J, R | FetchFailed]] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                group = waiting.get_nowait()
            except queue.Empty:
                return
            for job in group:
                if stop.is_set():
                    return
                outcome: R | FetchFailed
                try:
                    outcome = work(job)
                except FetchFailed as exc:
                    outcome = exc
                except Exception as exc:  # one odd item never ends the pull
                    outcome = FetchFailed(f"unexpected error ({_reason(exc)})")
                results.put((job, outcome))

    # daemon threads: an interrupted pull exits without waiting for a stalled server
    for _ in range(min(workers, len(groups))):
        threading.Thread(target=worker, daemon=True, name="rag-feed-fetch").start()
    try:
        for _ in range(len(jobs)):
            yield results.get()
    finally:
        stop.set()


def _tries(reason: str, attempt: int) -> str:
    return f"{reason} ({attempt + 1} tries)" if attempt else reason


def status_text(status: int) -> str:
    """'HTTP 404 Not Found'."""
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}".strip()


def _seconds(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
