"""MinHash signatures of character shingles and LSH banding over them, in numpy.

Written here rather than taken from datasketch (which the project used before): importing
datasketch imports scipy, ~0.5 s of CPU, a sixth of an update that adds one article,
and what the duplicate check needs is the few numpy lines below. The method is the
standard one (Broder's MinHash with 2-universal affine permutations over 32-bit words
after a MurmurHash3 finaliser, as datasketch's default "affine32" scheme; banding with
datasketch's optimal bands for the threshold); ``tests/unit/test_minhash.py`` checks its
Jaccard estimates against exact Jaccard on real articles.

Shingles are hashed without a Python call per shingle: the text's code points are read
as one uint32 array and each window of ``size`` characters is folded into a 32-bit
polynomial hash with vectorised multiply-adds (wrapping, i.e. modulo 2**32).
"""

from __future__ import annotations

import numpy as np

NUM_PERM = 128
# datasketch's MinHashLSH optimum for threshold 0.7 and 128 permutations (equal weights
# for false positives and negatives): 14 bands of 9 rows
BANDS, ROWS = 14, 9
# Fixed, so that signatures stored by one run are valid in the next; SCHEME is part of
# every stored signature's key, so a change of method never reuses old signatures.
SCHEME = "np-affine32-1"
_SEED = 20_261_122
_BASE = np.uint32(0x01000193)  # the FNV prime: odd, so each step is a bijection


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_SEED)
    a = rng.integers(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 1 << 32, NUM_PERM, dtype=np.uint64).astype(np.uint32)
    return a[:, None], b[:, None]


_A, _B = _permutations()


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser: spreads structured inputs over all 32 bits (a bijection)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def shingle_hashes(normalised: str, size: int) -> np.ndarray:
    """The distinct 32-bit hashes of ``normalised``'s character ``size``-shingles
    (one shingle, the whole text, when it is shorter)."""
    codes = np.frombuffer(normalised.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if len(codes) == 0:
        return np.zeros(0, dtype=np.uint32)
    width = min(size, len(codes))
    count = len(codes) - width + 1
    with np.errstate(over="ignore"):
        h = np.full(count, np.uint32(len(codes) if width < size else size), dtype=np.uint32)
        for offset in range(width):
            h = h * _BASE + codes[offset : offset + count]
        return np.unique(_fmix32(h))


def signature(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32) of a set of shingle hashes."""
    if len(hashes) == 0:
        raise ValueError("no shingles to sign")
    with np.errstate(over="ignore"):
        # pre-mixed again, as datasketch's affine schemes do: without it the estimates
        # of edited copies of real articles ran 0.03 low on average (polynomial hashes
        # of overlapping windows are correlated; one finaliser does not hide it)
        mixed = _fmix32(hashes)
        return (_A * mixed[None, :] + _B).min(axis=1)


def estimated_jaccard(left: np.ndarray, right: np.ndarray) -> float:
    """The share of permutations on which two signatures agree."""
    return float(np.count_nonzero(left == right)) / NUM_PERM


class BandIndex:
    """LSH banding: signatures that agree on all rows of any band are candidates."""

    def __init__(self) -> None:
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(BANDS)]

    def candidates(self, sig: np.ndarray) -> set[int]:
        """Keys of the signatures added so far that share a band with ``sig``."""
        found: set[int] = set()
        for band, bucket in enumerate(self._buckets):
            found.update(bucket.get(sig[band * ROWS : (band + 1) * ROWS].tobytes(), ()))
        return found

    def add(self, key: int, sig: np.ndarray) -> None:
        for band, bucket in enumerate(self._buckets):
            bucket.setdefault(sig[band * ROWS : (band + 1) * ROWS].tobytes(), []).append(key)
