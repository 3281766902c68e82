"""HTTP for feeds: a polite client and a per-host scheduler.

Every request has connect/read timeouts and an overall deadline, a size cap, an honest
User-Agent and redirects followed by hand (so a loop is named as one). Connection
errors, 5xx and 429 are retried with exponential backoff (a Retry-After is honoured up
to a minute); a read timeout is not, since the server answered and then stalled.
Requests to one host run one after another; different hosts run side by side.

Only public addresses are fetched from, unless the settings allow any (a feed must not
make the archive read this machine's or the network's internal services): every
connection, redirects included, is checked after the name is resolved, and made to the
address checked. A feed whose subscription allows it may use its own server.
"""

from __future__ import annotations

import ipaddress
import queue
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpcore
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
ALLOW_HINT = (
    "feeds are fetched from public addresses only; 'rag feed add --allow-private' lets a "
    "feed use its own server, feed_allow_private = true any address"
)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Origin = tuple[str, int]  # host (as httpx spells it) and port


class FetchFailed(Exception):
    """A request that gave nothing usable; ``str()`` is the one-line reason.

    ``refused``: the address check refused it (nothing was sent).
    """

    def __init__(self, reason: str, *, transient: bool = False, refused: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient
        self.refused = refused


class AddressRefused(Exception):
    """A connection the address check refused; ``str()`` names the host and its address."""


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


def address_problem(address: IPAddress) -> str | None:
    """What ``address`` is when it is not a public one ('a loopback address'), else None."""
    if isinstance(address, ipaddress.IPv6Address):
        # an IPv4 address inside an IPv6 one (mapped, 6to4) is where it leads
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return address_problem(embedded)
    for kind in ("unspecified", "loopback", "link-local", "multicast", "reserved", "private"):
        if getattr(address, "is_" + kind.replace("-", "_")):
            return f"a {kind} address"
    return None if address.is_global else "not a public address"


def _resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` has, in the resolver's order, each once (raises OSError)."""
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def _refusal(host: str, addresses: list[IPAddress]) -> str | None:
    """Why ``host`` may not be connected to (any of its addresses is not public), or None."""
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            if host == str(address):
                return f"{address} is {problem}"
            return f"{host} is at {address}, {problem}"
    return None


class _CheckedBackend(httpcore.SyncBackend):
    """httpcore's sockets, opened only to public addresses (or to the trusted server).

    Checking the name's addresses and then letting httpx connect would not do: httpx
    resolves the name again, and a name can have a public address for the check and
    127.0.0.1 a moment later (DNS rebinding). So the name is resolved once, here, and the
    socket connected to an address of that answer; TLS still checks the certificate
    against the name, which httpcore passes to ``start_tls`` itself.
    """

    def __init__(self, trusted: Origin | None) -> None:
        self.trusted = trusted

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if (host, port) == self.trusted:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = _resolve(host, port)
        except OSError as exc:  # what socket.create_connection raises for such a name
            raise httpcore.ConnectError(str(exc)) from exc
        problem = _refusal(host, addresses)
        if problem is not None:
            raise AddressRefused(problem)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # in order, as socket.create_connection tries them
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


def _checked_transport(trusted: Origin | None, limits: httpx.Limits) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(limits=limits)
    # httpx's transport takes no network backend, the httpcore pool it wraps does: the
    # pool is made again with the checking one (the first was never used)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_CheckedBackend(trusted),
    )
    return transport


@dataclass(frozen=True)
class _Proxies:
    """The proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY),
    read as httpx reads them when it makes its own transports."""

    by_scheme: Mapping[str, str]
    bypass: tuple[str, ...]  # httpx URL patterns of the hosts reached directly

    @classmethod
    def from_environment(cls) -> _Proxies:
        found = urllib.request.getproxies()
        by_scheme = {
            f"{scheme}://": url if "://" in url else f"http://{url}"
            for scheme in ("http", "https", "all")
            if (url := found.get(scheme))
        }
        names = [name.strip() for name in found.get("no", "").split(",") if name.strip()]
        if "*" in names:
            return cls({}, ())
        return cls(by_scheme, tuple(_bypass_pattern(name) for name in names))

    def mounts(
        self, direct: httpx.BaseTransport, limits: httpx.Limits
    ) -> dict[str, httpx.BaseTransport]:
        proxied: dict[str, httpx.BaseTransport] = {
            pattern: httpx.HTTPTransport(proxy=url, limits=limits)
            for pattern, url in self.by_scheme.items()
        }
        return proxied | dict.fromkeys(self.bypass, direct)


def _bypass_pattern(name: str) -> str:
    if "://" in name:
        return name
    try:
        address = ipaddress.ip_address(name.split("/")[0])
    except ValueError:
        return f"all://{name}" if name.lower() == "localhost" else f"all://*{name}"
    return f"all://[{name}]" if address.version == 6 else f"all://{name}"


def _origin(url: str | None) -> Origin | None:
    """The host and port httpx connects to for ``url`` (None for no URL or a bad one)."""
    try:
        parsed = httpx.URL(url or "")
    except httpx.InvalidURL:
        return None
    if not parsed.raw_host:
        return None
    default = 443 if parsed.scheme == "https" else 80
    return parsed.raw_host.decode("ascii"), parsed.port or default


class Fetcher:
    """GET with timeouts, a size cap, retries, checked redirects and checked addresses.
    Thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.feed_timeout
        self.max_mb = settings.feed_max_mb
        self.max_bytes = int(settings.feed_max_mb * 1_000_000)
        self.retries = settings.feed_retries
        self.backoff = settings.feed_backoff
        self.allow_any_address = settings.feed_allow_private
        self._limits = httpx.Limits(max_connections=2 * settings.feed_workers)
        self._proxies = _Proxies.from_environment()
        # one client per trusted server: the check is in each client's connections
        self._clients: dict[Origin | None, httpx.Client] = {}
        self._clients_lock = threading.Lock()

    def close(self) -> None:
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _client(self, trusted: Origin | None) -> httpx.Client:
        key = None if self.allow_any_address else trusted
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._new_client(key)
            return client

    def _new_client(self, trusted: Origin | None) -> httpx.Client:
        options: dict[str, Any] = {
            "timeout": httpx.Timeout(self.timeout),
            "headers": {"User-Agent": USER_AGENT},
            "follow_redirects": False,
        }
        if self.allow_any_address:
            return httpx.Client(limits=self._limits, **options)
        direct = _checked_transport(trusted, self._limits)
        mounts = self._proxies.mounts(direct, self._limits)
        return httpx.Client(transport=direct, mounts=mounts, **options)

    def _check_proxied(self, url: str, trusted: Origin | None) -> None:
        """Through a proxy the proxy resolves the name, so the check cannot be where the
        connection is made: the URL's address, or the addresses its name has here, are
        checked before the request (a name this machine cannot resolve is the proxy's)."""
        if self.allow_any_address or not self._proxies.by_scheme:
            return
        target = _origin(url)
        if target is None or target == trusted:
            return
        host, port = target
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError):
            return
        problem = _refusal(host, addresses)
        if problem is not None:
            raise FetchFailed(f"refused: {problem} ({ALLOW_HINT})", refused=True)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, trusted: str | None = None
    ) -> Response:
        """The response to GET ``url`` after redirects; transient failures are retried.

        ``trusted``: the URL of a server that may be on a private address (a feed whose
        subscription allows it); requests to its host and port are not checked.

        Raises ``FetchFailed``. Statuses of 400 and above other than 429/5xx come back
        as they are (without a body): the caller decides what they mean.
        """
        origin = _origin(trusted)
        client = self._client(origin)
        for attempt in range(self.retries + 1):
            delay = self.backoff * 2**attempt
            try:
                response = self._follow(client, origin, url, headers or {})
            except FetchFailed as exc:
                if not exc.transient or attempt == self.retries:
                    reason = _tries(str(exc), attempt)
                    raise FetchFailed(reason, refused=exc.refused) from None
            else:
                if response.status != 429 and response.status < 500:
                    return response
                if attempt == self.retries:
                    raise FetchFailed(_tries(status_text(response.status), attempt))
                if response.retry_after is not None:
                    delay = min(response.retry_after, MAX_RETRY_AFTER)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(
        self, client: httpx.Client, trusted: Origin | None, url: str, headers: Mapping[str, str]
    ) -> Response:
        deadline = time.monotonic() + DEADLINE_FACTOR * self.timeout
        seen = [url]
        while True:
            try:
                response = self._once(client, trusted, seen[-1], headers, deadline)
            except FetchFailed as exc:
                if exc.refused and len(seen) > 1:
                    raise FetchFailed(f"redirected to {seen[-1]}, {exc}", refused=True) from None
                raise
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

    def _once(
        self,
        client: httpx.Client,
        trusted: Origin | None,
        url: str,
        headers: Mapping[str, str],
        deadline: float,
    ) -> Response:
        try:
            self._check_proxied(url, trusted)
            with client.stream("GET", url, headers=dict(headers)) as r:
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
        except AddressRefused as exc:
            raise FetchFailed(f"refused: {exc} ({ALLOW_HINT})", refused=True) from None
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


def fetch_page(fetcher: Fetcher, url: str, trusted: str | None = None) -> Page:
    """An item's page as HTML text; ``FetchFailed`` when it is missing, too big, not HTML
    or refused (``trusted`` as for ``Fetcher.get``)."""
    response = fetcher.get(url, trusted=trusted)
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
