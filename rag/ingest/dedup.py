"""Merge copies of the same story into one ``Article``.

RSS archives save a story again when its date, URL or page furniture changes. Copies
are found exactly (same canonical URL, same cleaned-text hash) and approximately
(MinHash LSH over character 5-shingles of the normalised text, ``rag.ingest.minhash``:
estimated Jaccard >= 0.7; the five distinct sample articles on one topic peak at 0.03,
re-dated copies with a few boilerplate lines added or removed sit above 0.85).
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
from rag.text.urls import canonical_url

NEAR_DUPLICATE_THRESHOLD = 0.7
SHINGLE_SIZE = 5

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
    they share a canonical URL or a content hash, or when the estimated Jaccard
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

    first_by_key: dict[str, int] = {}
    bands = BandIndex()
    signed: dict[int, np.ndarray] = {}
    for index, article in enumerate(articles):
        keys = [f"hash:{article.content_hash}"] if article.content_hash else []
        keys += [
            f"url:{_canonical(url)}"
            for url in (article.urls or ((article.url,) if article.url else ()))
        ]
        for key in keys:
            if key in first_by_key:
                union(first_by_key[key], index)
            else:
                first_by_key[key] = index
        sig = _signature(article.text, signatures)
        if sig is None:
            continue
        for other in bands.candidates(sig):
            if estimated_jaccard(signed[other], sig) >= threshold:
                union(other, index)
        bands.add(index, sig)
        signed[index] = sig

    groups: dict[int, list[int]] = {}
    for index in range(len(articles)):
        groups.setdefault(find(index), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


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
