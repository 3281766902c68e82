"""``test-hash``: a deterministic embedder for tests of the plumbing, not for search.

No model, no threads, no files: a text's vector counts its normalised character bigrams
(and Latin words) hashed into ``DIM`` buckets, so texts sharing words score higher, the
same text always gives the same vector, and a test tier can build and query real indexes
in milliseconds. Its scores are not e5's: quality figures and thresholds never use it.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence

import numpy as np

from rag.config import TEST_EMBEDDER
from rag.embed.base import Kind
from rag.embed.registry import LoadOptions
from rag.text.normalize import normalize_for_matching

DIM = 64
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


class HashingBackend:
    name = TEST_EMBEDDER
    dim = DIM
    fingerprint = f"{TEST_EMBEDDER}@1"

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            units = _WORD.findall(normalize_for_matching(text))
            grams = units + [a + b for a, b in itertools.pairwise(units)]
            for gram in grams or [""]:
                out[row, zlib.crc32(gram.encode("utf-8")) % DIM] += 1.0
        return out


def load(spec: str, options: LoadOptions) -> HashingBackend:
    return HashingBackend()


def recorded_name(spec: str) -> str:
    return TEST_EMBEDDER
