"""The pipeline checks both tiers run on their sample index (integration/test_pipeline.py
built with e5, unit/test_pipeline.py with test-hash): the manifest a build writes and the
check that an index is searched with the embedder that built it."""

from __future__ import annotations

import pytest

from rag.archive import Archive
from rag.config import Settings
from rag.errors import EmbedderMismatchError
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.records import BuildReport, SearchOptions
from support.sample import QUESTION

# where a setting can come from, as Settings.with_overrides names it
EMBEDDER_ORIGINS = ["flag", "environment", "settings file ./rag.toml"]


def check_manifest(index: tuple[Settings, BuildReport], embedder: str, dim: int) -> None:
    """The live version's manifest records how the sample index was built."""
    settings, report = index
    manifest = IndexManifest.from_file(current_version_dir(settings.index_dir) / MANIFEST)
    assert manifest.embedder == embedder
    assert manifest.dim == dim
    assert (manifest.articles, manifest.passages) == (5, report.passages)
    assert (manifest.chunk_size, manifest.chunk_overlap) == (
        settings.chunk_size,
        settings.chunk_overlap,
    )
    assert manifest.built_at


def check_another_embedder_is_refused(
    settings: Settings, origin: str, other: str, index_embedder: str
) -> None:
    """Searching with ``other`` set from ``origin`` fails, naming the index's embedder and
    where ``other`` came from."""
    other_settings = settings.with_overrides(origin, embedder=other)
    with pytest.raises(EmbedderMismatchError, match=index_embedder) as caught:
        Archive(other_settings).search(QUESTION)
    assert other_settings.origin("embedder") in str(caught.value)


def check_the_index_embedder_is_accepted(settings: Settings, name: str) -> None:
    """The index's own embedder, set explicitly as ``name``, searches."""
    same = settings.with_overrides("flag", embedder=name)
    assert Archive(same).search(QUESTION, SearchOptions(k=1)).hits
