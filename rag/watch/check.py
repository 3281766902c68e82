"""A check: which articles a watch has not accounted for, and its new stories among them.

**What "received since the last check" means.** The index records no arrival time that
survives every path an article takes (a rebuild writes every row again; a file's mtime
changes when it is copied, and stays when it is edited in place by some tools), and a
publication date says when the outlet wrote it, not when this archive got it. So a
watch remembers, per article id, the hash of the text it last accounted for (``known``
in ``rag.watch.store``), and an article is new to it when its id is not there or its
text hash differs. That one definition gives every property a watch promises:

- an article updated in place keeps its id (from its URL, else its path) and is new
  again only when its cleaned text changed, not when only its file or title did;
- a removed article is in no index version, so no check can report it;
- a rebuild of the same files gives the same ids and hashes: nothing is new;
- the check records what it reported and what it passed over in one transaction, at the
  end: killed before, it recorded nothing and the next check finds the same items;
  killed after, the items are recorded as shown (``rag watch show``, the Atom feed).

A watch created ``--since DATE`` starts having accounted for the articles published
before that day only, so its first check reports the others.

The search is the timeline's (one passage per article, the relevance threshold of an
answer, copies of a story folded), restricted to the articles published since the
oldest new one when every new article has a date, and kept to the new articles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

from rag.records import Timeline, TimelineEntry, WatchItem
from rag.text.urls import site_of

# An article's state in the live version: its text hash and publication date.
ArticleState = tuple[str, datetime | None]
# (question, source, published since, the ids of the new articles) → their stories.
FindStories = Callable[[str, str | None, datetime | None, frozenset[str]], Timeline]


def unseen(states: Mapping[str, ArticleState], known: Mapping[str, str]) -> dict[str, ArticleState]:
    """The articles whose id the watch has not accounted for, or whose text changed since."""
    return {aid: state for aid, state in states.items() if known.get(aid) != state[0]}


def baseline(states: Mapping[str, ArticleState], since: date | None) -> dict[str, str]:
    """What a new watch has accounted for: everything, or what was published before ``since``
    (an undated article counts as old)."""
    return {
        aid: digest
        for aid, (digest, published) in states.items()
        if since is None or published is None or published.date() < since
    }


def oldest(new: Mapping[str, ArticleState]) -> datetime | None:
    """The earliest publication date among ``new``; None when one of them has none."""
    dates = [published for _, published in new.values()]
    if not dates or any(d is None for d in dates):
        return None
    return min(d for d in dates if d is not None)


def new_items(
    question: str,
    source: str | None,
    new: Mapping[str, ArticleState],
    find: FindStories,
    found_at: datetime,
) -> tuple[WatchItem, ...]:
    """The stories among ``new`` relevant to ``question``, newest first."""
    if not new:
        return ()
    timeline = find(question, source, oldest(new), frozenset(new))
    entries = sorted(timeline.entries, key=_newest_first)
    return tuple(
        _item(entry, new[entry.hit.article.id][0], found_at)
        for entry in entries
        if entry.hit.article.id in new
    )


def _newest_first(entry: TimelineEntry) -> tuple[bool, float, str]:
    published = entry.published
    return (
        published is None,
        -(published.timestamp() if published else 0.0),
        entry.hit.article.title,
    )


def _item(entry: TimelineEntry, digest: str, found_at: datetime) -> WatchItem:
    hit = entry.hit
    article = hit.article
    text = hit.chunk.text
    start, end = hit.highlight or (0, min(len(text), 120))
    return WatchItem(
        article_id=article.id,
        content_hash=digest,  # the hash the watch compares, also for older indexes
        title=article.title,
        url=article.url,
        outlet=site_of(article.url) or article.source or "",
        published=article.published,
        passage=text,
        sentence=text[start:end].strip(),
        score=round(float(hit.score), 4),
        found_at=found_at,
        also_reported_by=entry.also_reported_by,
    )
