"""Shared fixtures: the real sample corpus indexed once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.archive import Archive
from rag.config import Settings
from rag.records import BuildReport

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
QUESTION = "中美在COP28上承诺了什么"
STOCKTAKE = "以协商一致方式达成全球盘点决定"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the session, so each test index embeds a text only once."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def sample_index(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache: Path
) -> tuple[Settings, BuildReport]:
    """The five sample articles indexed with the bundled model (built once)."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("index") / "sample")
    report = Archive(settings).build([str(SAMPLE)])
    # later indexes reuse these vectors (this first build still embeds for real)
    import shutil

    shutil.copytree(settings.index_dir / "cache", embedding_cache, dirs_exist_ok=True)
    return settings, report


@pytest.fixture()
def fresh_settings(tmp_path: Path, embedding_cache: Path, sample_index) -> Settings:
    """Settings for a new index in tmp_path sharing the session's embedding cache."""
    return Settings(index_dir=tmp_path / "index", cache_dir=embedding_cache)


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample corpus."""
    import shutil

    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture(scope="session")
def sample_archive(sample_index: tuple[Settings, BuildReport]) -> Iterator[Archive]:
    """The sample index opened as users open it: ``Archive(settings)``."""
    with Archive(sample_index[0]) as archive:
        yield archive
