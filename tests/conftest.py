"""Shared fixtures: the real sample corpus indexed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.build import BuildReport, build_index
from rag.retrieve import IndexReader

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
QUESTION = "中美在COP28上承诺了什么"
STOCKTAKE = "以协商一致方式达成全球盘点决定"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, BuildReport]:
    """The five sample articles indexed with the bundled model (built once)."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("index") / "sample")
    report = build_index([str(SAMPLE)], settings)
    return settings, report


@pytest.fixture(scope="session")
def sample_reader(sample_index: tuple[Settings, BuildReport]) -> IndexReader:
    return IndexReader(sample_index[0].index_dir)
