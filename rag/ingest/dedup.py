"""Merge copies of the same story into one ``Article``.

RSS archives save a story again when its date, URL or page furniture changes. Copies
are found exactly (same canonical URL, same cleaned-text hash) and approximately
(MinHash LSH over character 5-shingles of the normalised text, Jaccard >= 0.8: the
five distinct sample articles on one topic peak at 0.03, re-dated copies with a few
boilerplate lines added or removed sit above 0.85).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import MutableMapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from rag.records import Article

if TYPE_CHECKING:
    from datasketch import MinHash

NEAR_DUPLICATE_THRESHOLD = 0.7
SHINGLE_SIZE = 5
NUM_PERM = 128

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
    similarity of their character 5-shingles reaches ``threshold``.

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
    """The key of ``text``'s MinHash signature in a ``signatures`` cache."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


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

    from datasketch import MinHashLSH  # imports scipy: only when articles are merged

    first_by_key: dict[str, int] = {}
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
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
        signature = _minhash(article.text, signatures)
        if signature is None:
            continue
        for other in lsh.query(signature):
            union(int(other), index)
        lsh.insert(str(index), signature)

    groups: dict[int, list[int]] = {}
    for index in range(len(articles)):
        groups.setdefault(find(index), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


def _minhash(text: str, signatures: MutableMapping[str, bytes]) -> MinHash | None:
    from datasketch import MinHash

    key = signature_key(text)
    template = _template()
    known = signatures.get(key)
    if known is not None:
        values = np.frombuffer(known, dtype=template.hashvalues.dtype)
        if len(values) == NUM_PERM:
            return MinHash(
                num_perm=NUM_PERM,
                hashvalues=values,
                permutations=template.permutations,
                scheme=template.scheme,
            )
    grams = shingles(text)
    if not grams:
        return None
    signature = template.copy()
    signature.update_batch([gram.encode("utf-8") for gram in grams])
    signatures[key] = signature.hashvalues.tobytes()
    return signature


@lru_cache(maxsize=1)
def _template() -> MinHash:
    """An empty signature with datasketch's default seed and scheme, copied for each text
    (a new MinHash would draw its permutations again)."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM)


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
    from rag.ingest import canonical_url

    return canonical_url(url)
