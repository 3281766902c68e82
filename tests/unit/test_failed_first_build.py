"""A first build that fails leaves no index folder behind (it used to leave one holding
an empty .lock); a failure over an existing index keeps it as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sample import SAMPLE

from rag.archive import Archive
from rag.config import Settings
from rag.errors import NothingToIndexError


def test_a_failed_first_build_leaves_no_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(index_dir=tmp_path / "new" / "deeper" / "index", embedder="test-hash")
    with pytest.raises(NothingToIndexError):
        Archive(settings).build([str(empty)])
    assert not (tmp_path / "new").exists()


def test_a_failed_build_over_an_index_keeps_it(hash_settings: Settings, tmp_path: Path) -> None:
    Archive(hash_settings).build([str(SAMPLE)])
    before = sorted(
        p.relative_to(hash_settings.index_dir) for p in hash_settings.index_dir.rglob("*")
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NothingToIndexError):
        Archive(hash_settings).build([str(empty)])
    after = sorted(
        p.relative_to(hash_settings.index_dir) for p in hash_settings.index_dir.rglob("*")
    )
    assert after == before
