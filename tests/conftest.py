"""Fixtures both tiers use. The real engine's fixtures (the sample index built with e5)
are in integration/conftest.py, the test embedder's in unit/conftest.py; helpers that
tests import are modules of tests/support."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.sample import SAMPLE


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE, target)
    return target
