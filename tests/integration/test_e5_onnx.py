"""OnnxE5 (onnxruntime float32 / int8 e5-small) against NumpyE5 on real text."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import onnx  # noqa: F401  (required: builds the engine's graph)
import onnxruntime
import pytest
from support.sample import SAMPLE

from rag.embed.e5_numpy import NumpyE5
from rag.embed.e5_onnx import OnnxE5
from rag.embed.e5_weights import E5Weights

SAMPLE_DIR = SAMPLE


def _strip(markup: str) -> str:
    markup = re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", markup)
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    files = sorted(SAMPLE_DIR.glob("*.txt"))
    assert files, "corpus/sample is empty"
    articles = [_strip(f.read_text(encoding="utf-8", errors="replace")) for f in files]
    pieces = []
    for a in articles:
        pieces += [a[i : i + 200] for i in range(0, len(a), 200) if a[i : i + 200].strip()]
    # short pieces, a few whole articles (> 512 tokens -> several windows), edge cases
    return pieces[::3][:60] + articles[:3] + ["", "how much protein should an adult eat"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> E5Weights:
    return E5Weights(cache_dir=tmp_path_factory.mktemp("e5cache"))


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e5onnx")


@pytest.fixture(scope="module")
def ref(weights: E5Weights, texts: list[str]) -> np.ndarray:
    return NumpyE5(weights).encode(texts, is_query=False)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_long_texts_are_windowed(weights: E5Weights, texts: list[str]) -> None:
    m = NumpyE5(weights)
    assert max(m.token_count(t) for t in texts) > 600


def test_float32_matches_numpy(weights, onnx_dir, texts, ref) -> None:
    m = OnnxE5(weights, quantized=False, onnx_cache_dir=onnx_dir)
    assert isinstance(m.session, onnxruntime.InferenceSession)  # onnxruntime runs it
    assert m.model_path.name == "e5-fused-f32.onnx"  # the name existing caches hold
    v = m.encode(texts, is_query=False)
    assert v.shape == (len(texts), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert _cos(v, ref).min() >= 0.9999


def test_int8_agrees_with_numpy(weights, onnx_dir, texts, ref) -> None:
    m = OnnxE5(weights, onnx_cache_dir=onnx_dir)
    assert m.quantized and m.model_path.name == "e5-fused-int8pc.onnx"
    assert isinstance(m.session, onnxruntime.InferenceSession)  # onnxruntime runs it
    v = m.encode(texts, is_query=False)
    assert v.shape == (len(texts), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    c = _cos(v, ref)
    assert c.mean() >= 0.98 and c.min() >= 0.95, (c.mean(), c.min())
    # queries go through the same path, with the "query: " prefix
    q = m.encode(texts[:5], is_query=True)
    c = _cos(q, NumpyE5(weights).encode(texts[:5], is_query=True))
    assert c.min() >= 0.95
    # the cached model is reused (no rebuild) by a second instance
    m2 = OnnxE5(weights, onnx_cache_dir=onnx_dir)
    assert m2.model_path == m.model_path
    # (int8 activation scales are per bucket, so vectors depend slightly on batch-mates)
    assert _cos(m2.encode(texts[:4], False), v[:4]).min() >= 0.99


def test_api(weights, onnx_dir) -> None:
    m = OnnxE5(weights, onnx_cache_dir=onnx_dir)
    assert m.encode([], is_query=False).shape == (0, 384)
    assert m.token_count("passage text") == NumpyE5(weights).token_count("passage text")
    with pytest.raises(TypeError):
        m.encode("not a list", is_query=False)


def test_standard_attention_graph_computes_the_fused_graph(weights, onnx_dir) -> None:
    """The graph OpenVINO reads (attention in standard ops, 1/sqrt(d) folded into W_q)
    is the same function as onnxruntime's com.microsoft Attention graph, padding included."""
    from rag.embed.e5_onnx import graph_inputs, model_file

    engine = OnnxE5(weights, quantized=False, cache_dir=onnx_dir)
    standard = model_file(weights, quantized=False, cache_dir=onnx_dir, fused_attention=False)
    assert standard.name == "e5-standard-f32.onnx"
    session = onnxruntime.InferenceSession(str(standard), providers=["CPUExecutionProvider"])
    tok = engine.tokenizer
    seqs = [[tok.bos, *tok.encode(t), tok.eos] for t in ["中美在COP28上承诺了什么", "a" * 40, ""]]
    emb, mask = graph_inputs(engine, seqs, 16)
    assert emb.shape[1] % 16 == 0 and mask.sum() == sum(map(len, seqs))
    (fused,) = engine.session.run(["pooled"], {"emb": emb, "mask": mask})
    (plain,) = session.run(["pooled"], {"emb": emb, "mask": mask})
    np.testing.assert_allclose(plain, fused, atol=2e-5)
    with pytest.raises(ValueError, match="fused-attention"):
        model_file(weights, quantized=True, cache_dir=onnx_dir, fused_attention=False)


def test_padding_is_capped_at_the_position_table(weights, onnx_dir) -> None:
    from rag.embed.e5_onnx import graph_inputs

    engine = OnnxE5(weights, quantized=False, cache_dir=onnx_dir)
    longest = [[engine.tokenizer.bos] * (len(engine.pos) - 1)]
    emb, mask = graph_inputs(engine, longest, 48)
    assert emb.shape[1] == len(engine.pos) and mask.sum() == len(engine.pos) - 1
