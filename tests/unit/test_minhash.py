"""MinHash signatures (rag.ingest.minhash) against exact Jaccard and against datasketch."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from support.sample import ROOT

from rag.ingest import load_article
from rag.ingest.dedup import _NOT_WORD, SHINGLE_SIZE, jaccard
from rag.ingest.minhash import (
    NUM_PERM,
    BandIndex,
    estimated_jaccard,
    shingle_hashes,
    signature,
)

ARTICLES = sorted((ROOT / "corpus" / "sample").glob("*.txt")) + sorted(
    (ROOT / "tests" / "data" / "news").glob("*.md")
)


def _sig(text: str) -> np.ndarray:
    return signature(shingle_hashes(_NOT_WORD.sub("", text).lower(), SHINGLE_SIZE))


def _edited(text: str, share: float) -> str:
    """``text`` with its last ``share`` of paragraphs replaced by new lines."""
    lines = [line for line in text.split("\n") if line.strip()]
    keep = max(1, round(len(lines) * (1 - share)))
    return "\n".join(lines[:keep] + [f"新增段落第{i}行，与原文无关的内容。" for i in range(3)])


@pytest.fixture(scope="module")
def texts() -> list[str]:
    loaded = [load_article(path)[0].text for path in ARTICLES]
    return [t for t in loaded if len(t) > 200][:20]


def test_estimates_follow_exact_jaccard_on_real_articles(texts: list[str]) -> None:
    pairs = [(a, _edited(a, share)) for a in texts[:8] for share in (0.1, 0.3, 0.6)]
    pairs += list(itertools.combinations(texts[:10], 2))
    errors = [abs(estimated_jaccard(_sig(a), _sig(b)) - jaccard(a, b)) for a, b in pairs]
    # 128 permutations: the standard error at J = 0.5 is 0.044
    assert max(errors) < 0.15
    assert float(np.mean(errors)) < 0.04


def test_as_accurate_as_datasketch(texts: list[str]) -> None:
    datasketch = pytest.importorskip("datasketch")

    def theirs(text: str) -> object:
        sig = datasketch.MinHash(num_perm=NUM_PERM)
        grams = {
            text_[i : i + SHINGLE_SIZE]
            for text_ in [_NOT_WORD.sub("", text).lower()]
            for i in range(len(text_) - SHINGLE_SIZE + 1)
        }
        sig.update_batch([g.encode("utf-8") for g in grams])
        return sig

    pairs = [(a, _edited(a, share)) for a in texts[:8] for share in (0.1, 0.3, 0.6)]
    ours = [abs(estimated_jaccard(_sig(a), _sig(b)) - jaccard(a, b)) for a, b in pairs]
    ref = [abs(theirs(a).jaccard(theirs(b)) - jaccard(a, b)) for a, b in pairs]  # type: ignore[attr-defined]
    assert float(np.mean(ours)) < float(np.mean(ref)) + 0.02


def test_bands_find_near_copies_and_not_distinct_articles(texts: list[str]) -> None:
    bands = BandIndex()
    for key, text in enumerate(texts):
        bands.add(key, _sig(text))
    for key, text in enumerate(texts[:8]):
        assert key in bands.candidates(_sig(_edited(text, 0.05)))
    distinct = [len(bands.candidates(_sig(text)) - {key}) for key, text in enumerate(texts)]
    assert sum(distinct) <= 1  # unrelated stories collide on a band at most by chance


def test_signatures_are_the_same_in_every_process(texts: list[str]) -> None:
    """Stored signatures are reused by later updates: the permutations must not vary."""
    code = (
        "import sys\n"
        "from rag.ingest.dedup import _NOT_WORD, SHINGLE_SIZE\n"
        "from rag.ingest.minhash import shingle_hashes, signature\n"
        "text = _NOT_WORD.sub('', sys.stdin.read()).lower()\n"
        "sys.stdout.write(signature(shingle_hashes(text, SHINGLE_SIZE)).tobytes().hex())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=texts[0],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert bytes.fromhex(done.stdout) == _sig(texts[0]).tobytes()


def test_short_and_empty_texts() -> None:
    assert len(shingle_hashes("", SHINGLE_SIZE)) == 0
    assert len(shingle_hashes("abc", SHINGLE_SIZE)) == 1
    assert shingle_hashes("abc", SHINGLE_SIZE)[0] != shingle_hashes("abcd", SHINGLE_SIZE)[0]
    with pytest.raises(ValueError):
        signature(np.zeros(0, dtype=np.uint32))
