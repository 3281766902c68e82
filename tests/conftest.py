"""Fixtures both tiers use. The real engine's fixtures (the sample index built with e5)
are in integration/conftest.py, the test embedder's in unit/conftest.py; helpers that
tests import are modules of tests/support."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# the check_* helpers in support/ hold tests' assertions: pytest explains their failures too
pytest.register_assert_rewrite("support")

from support.sample import SAMPLE  # noqa: E402

import rag.index.local.segments as segments  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's data and config folders in a temporary home, for every test and every
    command a test starts: the default index (platformdirs' user data folder) and the
    user's settings file are never the real ones. The model cache stays shared."""
    home = tmp_path_factory.mktemp("user-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home / "data"))
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        yield home


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture()
def deltas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Updates write a base + delta version whatever the base's size (the layout is the
    same at any size; the sample corpus is far below the real threshold)."""
    monkeypatch.setattr(segments, "DELTA_MIN_BASE_PASSAGES", 0)
    monkeypatch.setattr(segments, "MAX_DELTA_SHARE", 10.0)
