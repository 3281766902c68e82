"""Connections, collection layout and filter expressions for the Milvus backend."""

from __future__ import annotations

import calendar
import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from rag.config import Settings
from rag.errors import IndexWriteError, MissingDependencyError, RagError
from rag.records import SearchFilters

ROW, DENSE, SPARSE, PUBLISHED, SITE = "row", "dense", "sparse", "published", "site"
# publication time of an undated article: below any date a filter can name
NO_DATE = -(2**62)
# Milvus' largest topk
MAX_LIMIT = 16_384
SITE_CHARS = 4096
# Milvus refuses an empty sparse vector: a passage without keyword tokens gets this
# term id, which no question ever sends
EMPTY_TERM = 2**32 - 2
# characters a LIKE pattern or a string literal would read specially; a source filter
# containing one is applied as a row list instead
_LIKE_SPECIAL = set("%_\\\"'\n")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
T = TypeVar("T")


def pymilvus() -> Any:
    try:
        import pymilvus as module
    except ImportError:
        raise MissingDependencyError(
            "this index uses the milvus backend: install the milvus extra: "
            "pip install 'rag-news[milvus]'"
        ) from None
    return module


def resolve_uri(settings: Settings) -> str:
    """The URI a build writes to: a server URL as given, a ``*.db`` path made absolute."""
    uri = settings.milvus_uri or str(Path(settings.index_dir) / "milvus.db")
    if uri.startswith(("http://", "https://")):
        return uri
    return str(Path(uri).expanduser().resolve())


def connect(uri: str) -> Any:
    """One shared client per URI in this process (milvus-lite allows one opener per file)."""
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            module = pymilvus()
            if uri.startswith(("http://", "https://")):
                client = guarded(uri, "connect", lambda: module.MilvusClient(uri=uri))
            else:
                client = _open_lite(module, uri)
            _clients[uri] = client
        return client


def _open_lite(module: Any, uri: str) -> Any:
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    # milvus-lite logs a failed start with its traceback; the error below says it
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
    try:
        return module.MilvusClient(uri=uri)
    except Exception:
        raise IndexWriteError(
            f"cannot open {uri} with milvus-lite; is another process using it? milvus-lite "
            "lets one process at a time open a file: stop the other one, or serve the file "
            "with 'milvus-lite server --data-dir DIR' and use http://127.0.0.1:19530"
        ) from None


def guarded(uri: str, doing: str, call: Callable[[], T]) -> T:
    """Run ``call``; a Milvus or connection failure becomes one ``RagError`` line."""
    try:
        return call()
    except RagError:
        raise
    except Exception as exc:  # pymilvus raises MilvusException, grpc and OS errors
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise IndexWriteError(f"Milvus at {uri}: cannot {doing} ({first})") from None


def collection_prefix(index_dir: Path) -> str:
    """Collection names of one index start with this (one Milvus may hold many indexes)."""
    digest = hashlib.sha1(str(Path(index_dir).resolve()).encode()).hexdigest()[:12]
    return f"rag_{digest}"


def epoch_seconds(value: datetime | None) -> int:
    """Publication time in whole UTC seconds, ordered like the metadata's ``utc_key``."""
    if value is None:
        return NO_DATE
    return calendar.timegm(value.astimezone(UTC).timetuple())


def site_text(source: str | None, url: str | None) -> str:
    """The source filter's haystack: lower-case outlet and URL (a filter is a substring of
    one of them, as in ``MetadataStore.rows_matching``)."""
    return f"{_sqlite_lower(source or '')}\n{_sqlite_lower(url or '')}"[:SITE_CHARS]


def _sqlite_lower(text: str) -> str:
    # SQLite's lower() folds ASCII letters only; the metadata filter uses it
    return text.translate(_ASCII_LOWER)


def filter_expression(filters: SearchFilters | None, allowed: list[int] | None) -> str:
    """A Milvus boolean expression equal to ``rows_matching(filters)`` ("" when none)."""
    if filters is None or not filters.active():
        return "" if allowed is None else f"{ROW} in {list(allowed)}"
    parts = []
    if filters.since or filters.until:
        parts.append(f"{PUBLISHED} > {NO_DATE}")
    if filters.since:
        parts.append(f"{PUBLISHED} >= {epoch_seconds(filters.since)}")
    if filters.until:
        parts.append(f"{PUBLISHED} <= {epoch_seconds(filters.until)}")
    if filters.source:
        needle = filters.source.lower()
        if _LIKE_SPECIAL & set(needle) or len(needle) > SITE_CHARS:
            return f"{ROW} in {list(allowed or [])}"
        parts.append(f'{SITE} like "%{needle}%"')
    return " and ".join(parts)
