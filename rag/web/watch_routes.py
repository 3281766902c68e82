"""Each watch as an Atom feed (``/watch/<name>.atom``): what its checks reported, most
recent first, each entry with its passage and citation.

The feed shows what checks found (``rag watch check``, ``rag feed pull --watch`` or the
``watch_after_update`` setting); reading it changes nothing, so a feed reader polling it
never takes items from the terminal's digest. User text reaches the XML only as text
nodes and attribute values written by ElementTree, which escapes it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam

from rag import __version__
from rag.archive import Archive
from rag.records import WatchDigest, WatchItem

ATOM = "http://www.w3.org/2005/Atom"
FEED_ITEMS = 50  # entries in a feed: the most recently reported
# Names every URL and id of one archive's feeds, so that two archives' watches of the
# same name are different feeds.
_NAMESPACE = uuid.UUID("0b6a8d52-4f2e-4f43-9a8e-2c1d5a7e9b31")

router = APIRouter()


async def _archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


WatchArchive = Annotated[Archive, Depends(_archive)]


# Not in the OpenAPI document: a feed for feed readers, not part of the JSON API (like
# the page); a missing watch answers 404 in the API's error body.
@router.get("/watch/{name}.atom", include_in_schema=False)
def watch_feed(
    name: Annotated[str, PathParam(max_length=100)], request: Request, archive: WatchArchive
) -> Response:
    digest = archive.watches().latest(name, FEED_ITEMS)
    body = atom_feed(digest, str(archive.index_dir), str(request.url))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def feed_path(name: str) -> str:
    """The path the watch ``name``'s feed is served at."""
    return f"/watch/{quote(name)}.atom"


def atom_feed(digest: WatchDigest, archive_key: str, self_url: str) -> bytes:
    """The watch's reported items as an Atom 1.0 document (RFC 4287)."""
    watch = digest.watch
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", _urn(archive_key, watch.name))
    _text(feed, "title", f"rag-news watch: {watch.question}")
    _text(feed, "subtitle", f"New stories on {watch.question}, with their citations")
    updated = max(
        [watch.created_at, *([watch.last_checked] if watch.last_checked else [])]
        + [i.found_at for i in digest.items]
    )
    _text(feed, "updated", _date(updated))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "rag-news")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    generator = _text(feed, "generator", "rag-news")
    generator.set("version", __version__)
    for item in digest.items:
        feed.append(_entry(item, archive_key, watch.name))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(item: WatchItem, archive_key: str, watch: str) -> ET.Element:
    entry = ET.Element(f"{{{ATOM}}}entry")
    # one entry per article text: a changed article is a new entry
    _text(entry, "id", _urn(archive_key, watch, item.article_id, item.content_hash))
    _text(entry, "title", item.title)
    if item.url:
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=item.url, type="text/html")
    if item.published:
        _text(entry, "published", _date(item.published))
    _text(entry, "updated", _date(item.found_at))
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", item.outlet or "unknown outlet")
    _text(entry, "summary", item.sentence)
    day = item.published.date().isoformat() if item.published else "undated"
    cited = f"{item.title}, {item.outlet or 'unknown outlet'}, {day}"
    cited += f", {item.url}" if item.url else ""
    also = (
        f"\nAlso reported by {', '.join(item.also_reported_by)}." if item.also_reported_by else ""
    )
    _text(entry, "content", f"{item.passage}\n\n[1] {cited}{also}")
    return entry


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = _xml_safe(value)
    if tag in ("title", "subtitle", "summary", "content"):
        element.set("type", "text")
    return element


def _xml_safe(text: str) -> str:
    # characters XML 1.0 cannot carry at all (control characters), dropped
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r"
        or ("\x20" <= ch <= "\ud7ff")
        or ("\ue000" <= ch <= "\ufffd")
        or ch > "\uffff"
    )


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, chr(31).join(parts))}"


def _date(value: datetime) -> str:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
