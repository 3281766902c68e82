"""URLs as the archive compares them: the canonical form of an article's address and
the outlet (site) it belongs to."""

from __future__ import annotations

from urllib.parse import urlsplit


def canonical_url(url: str) -> str:
    """The URL with a lower-case scheme/host, no fragment and no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def site_of(url: str | None) -> str | None:
    """The host of ``url`` in lower case without ``www.`` (the outlet), or None."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None
