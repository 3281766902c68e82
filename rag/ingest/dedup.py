"""Merge copies of the same story into one ``Article``.

RSS archives save a story again when its date, URL or page furniture changes, and other
outlets syndicate it under their own URLs. Copies are found by their URL (the same
canonical URL is the same story) and by their text: the same cleaned text, or MinHash
LSH over character 5-shingles of the normalised text (``rag.ingest.minhash``: estimated
Jaccard >= 0.7; the five distinct sample articles on one topic peak at 0.03, re-dated
copies with a few boilerplate lines added or removed sit above 0.85).

Alike text is evidence only when there is enough of it and the titles do not say
otherwise: a feed item whose page could not be fetched is saved with the feed's teaser
(``点击阅读全文。``), and a page whose extraction kept only the site's furniture (a
paywall notice) gives unrelated stories one body. So texts merge only when both bodies
hold ``MIN_JUDGED_CHARS`` characters and the titles agree (the same words, give or take
an outlet's name added, punctuation, width or Traditional characters).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import MutableMapping, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from rag.ingest.minhash import (
    NUM_PERM,
    SCHEME,
    BandIndex,
    estimated_jaccard,
    shingle_hashes,
    signature,
)
from rag.records import Article
from rag.text.normalize import normalize_for_matching
from rag.text.urls import canonical_url

NEAR_DUPLICATE_THRESHOLD = 0.7
SHINGLE_SIZE = 5
# Bodies shorter than this (letters and digits, punctuation and spaces removed; 96
# shingles) are not compared at all. That is about two sentences of Chinese news: a
# story's lead alone is longer, while feed teasers and "read more" stubs (点击阅读全文。,
# a one-line summary) are shorter and are shared word for word by unrelated items, so
# that a few shingles, all of them boilerplate, would decide.
MIN_JUDGED_CHARS = 100
# Titles agree when one holds the other (a syndicated copy's outlet name added) or when
# this share of their character bigrams is common to both (Jaccard): a title of twelve
# with one character changed keeps 0.69 ("有何" / "有啥"), two headlines on one topic
# that share a phrase ("中美气候合作声明有何新意" / "中美气候合作取得新进展") have 0.31.
TITLE_AGREEMENT = 0.6

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def merge_duplicates(
    articles: Sequence[Article],
    *,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
    signatures: MutableMapping[str, bytes] | None = None,
) -> list[Article]:
    """Return one article per story, in first-seen order.

    A merged article keeps the first-seen copy's id and title, the longest text of its
    copies (first-seen among equals: a truncated re-save of a story must not cut the
    indexed story short), every URL and date of its copies (first-seen order, no
    repeats) and the earliest date as ``published``. Copies are the same story when
    they share a canonical URL, or when their titles agree, both bodies hold
    ``MIN_JUDGED_CHARS`` characters and the texts are the same or the estimated Jaccard
    similarity of their character 5-shingles reaches ``threshold`` (candidates from LSH
    bands, each checked on its full signature).

    ``signatures`` caches MinHash signatures by ``signature_key(text)``: the ones it
    holds are used instead of hashing every shingle again (most of the cost), and the
    ones computed are added (an update passes the live version's).
    """
    groups = _group_copies(articles, threshold, {} if signatures is None else signatures)
    merged: list[Article] = []
    for members in groups:
        merged.append(_merge([articles[i] for i in members]))
    return merged


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[str]:
    """Character shingles of ``text`` with punctuation and whitespace removed."""
    normalised = _NOT_WORD.sub("", text).lower()
    if len(normalised) <= size:
        return {normalised} if normalised else set()
    return {normalised[i : i + size] for i in range(len(normalised) - size + 1)}


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (for tuning and reports)."""
    left, right = shingles(a), shingles(b)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def signature_key(text: str) -> str:
    """The key of ``text``'s MinHash signature in a ``signatures`` cache (the scheme is
    part of it: signatures made another way are never taken for these)."""
    data = f"{SCHEME}\0{text}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]


def _group_copies(
    articles: Sequence[Article], threshold: float, signatures: MutableMapping[str, bytes]
) -> list[list[int]]:
    parent = list(range(len(articles)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        root_i, root_j = find(i), find(j)
        if root_i != root_j:
            parent[max(root_i, root_j)] = min(root_i, root_j)

    first_by_url: dict[str, int] = {}
    by_hash: dict[str, list[int]] = {}
    bands = BandIndex()
    signed: dict[int, np.ndarray] = {}
    for index, article in enumerate(articles):
        for url in article.urls or ((article.url,) if article.url else ()):
            key = _canonical(url)
            if key in first_by_url:
                union(first_by_url[key], index)
            else:
                first_by_url[key] = index
        alike = set(by_hash.get(article.content_hash, ())) if article.content_hash else set()
        sig = _signature(article.text, signatures)
        if sig is not None:
            alike.update(
                other
                for other in bands.candidates(sig)
                if estimated_jaccard(signed[other], sig) >= threshold
            )
            bands.add(index, sig)
            signed[index] = sig
        for other in sorted(alike):
            if _one_story(articles[other], article):
                union(other, index)
        if article.content_hash:
            by_hash.setdefault(article.content_hash, []).append(index)

    groups: dict[int, list[int]] = {}
    for index in range(len(articles)):
        groups.setdefault(find(index), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


def _one_story(left: Article, right: Article) -> bool:
    """Whether two articles with alike text (and no URL in common) are one story: enough
    text on both sides to judge, and titles that agree (alike text under other titles
    and URLs is a teaser or the site's furniture, not a syndicated copy)."""
    if min(_judged_chars(left.text), _judged_chars(right.text)) < MIN_JUDGED_CHARS:
        return False
    return titles_agree(left.title, right.title)


def titles_agree(left: str, right: str) -> bool:
    """Whether two titles can be one story's: equal once normalised, one holding the
    other, or sharing ``TITLE_AGREEMENT`` of their character bigrams. A missing title
    says nothing against."""
    a, b = _title_key(left), _title_key(right)
    if not a or not b or a in b or b in a:
        return True
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) >= TITLE_AGREEMENT


def _title_key(title: str) -> str:
    return _NOT_WORD.sub("", normalize_for_matching(title))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def _judged_chars(text: str) -> int:
    if len(text) < MIN_JUDGED_CHARS:  # short before normalising: shorter after
        return len(text)
    return len(_NOT_WORD.sub("", text))


def _signature(text: str, signatures: MutableMapping[str, bytes]) -> np.ndarray | None:
    key = signature_key(text)
    known = signatures.get(key)
    if known is not None and len(known) == 4 * NUM_PERM:
        return np.frombuffer(known, dtype=np.uint32)
    hashes = shingle_hashes(_NOT_WORD.sub("", text).lower(), SHINGLE_SIZE)
    if not len(hashes):
        return None
    sig = signature(hashes)
    signatures[key] = sig.tobytes()
    return sig


def _merge(copies: list[Article]) -> Article:
    first = copies[0]
    if len(copies) == 1:
        return first
    urls: list[str] = []
    dates: list[datetime] = []
    for copy in copies:
        urls.extend(copy.urls or ((copy.url,) if copy.url else ()))
        dates.extend(copy.dates or ((copy.published,) if copy.published else ()))
    unique_urls = tuple(dict.fromkeys(urls))
    unique_dates = tuple(dict.fromkeys(dates))
    tags = tuple(dict.fromkeys(tag for copy in copies for tag in copy.tags))
    fullest = max(copies, key=lambda copy: len(copy.text))  # max keeps the first of equals
    return replace(
        first,
        text=fullest.text,
        content_hash=fullest.content_hash,
        path=fullest.path,
        url=first.url or (unique_urls[0] if unique_urls else None),
        published=min(unique_dates) if unique_dates else first.published,
        tags=tags,
        urls=unique_urls,
        dates=unique_dates,
        author=first.author or next((c.author for c in copies if c.author), None),
        source=first.source or next((c.source for c in copies if c.source), None),
    )


def _canonical(url: str) -> str:
    return canonical_url(url)
