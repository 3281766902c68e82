"""rag index build/update --ray: a real local Ray (num_cpus=1) embeds with the bundled e5
(the checks that need no Ray, or only fail to reach one, are in unit/test_ray_embedding.py).

The tests that start Ray are marked ``ray`` (Ray's start-up and its worker take ~30 s on
a small machine); ``make test`` runs them, ``pytest -m 'not ray'`` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.ray_support import NEW_ARTICLE, StageRecorder, needs_ray
from support.sample import ROOT, SAMPLE

from rag.archive import Archive
from rag.config import Settings
from rag.index.dense import load_dense
from rag.index.store import current_version_dir


def _vectors(index_dir: Path) -> np.ndarray:
    index = load_dense(current_version_dir(index_dir))
    return index.reconstruct_n(0, index.ntotal)


def _run_rag(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process: Ray's C++ logs write to the process's stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    return subprocess.run(
        [sys.executable, "-c", "from rag.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


@needs_ray
@pytest.mark.ray
@pytest.mark.slow
def test_ray_build_gives_the_local_builds_vectors_and_a_quiet_stderr(tmp_path, sample_index):
    local_settings, local_report = sample_index
    index_dir = tmp_path / "ray-index"
    result = _run_rag(
        "index", "build", str(SAMPLE), "--index", str(index_dir),
        "--ray", "local", "--ray-workers", "1", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f'"embedded": {local_report.passages}' in result.stdout  # Ray embedded them all
    # no Ray banner, execution plan, progress bar or C++ log line on the terminal
    assert "ray" not in result.stderr.lower(), result.stderr
    ray_vectors, local_vectors = _vectors(index_dir), _vectors(local_settings.index_dir)
    assert ray_vectors.shape == local_vectors.shape
    # Equal, not just close: each actor embeds the same parts, in the same batches, as
    # the local path (the int8 engine quantises activations per batch, so a different
    # batching would move vectors by up to ~0.01); threads do not change the result.
    assert float(np.abs(ray_vectors - local_vectors).max()) <= 1e-6


@needs_ray
@pytest.mark.ray
@pytest.mark.slow
def test_ray_update_embeds_only_the_new_passages(tmp_path, corpus_copy, embedding_cache):
    cache = tmp_path / "cache"
    shutil.copytree(embedding_cache, cache)  # the sample's vectors are known already
    settings = Settings(index_dir=tmp_path / "index", cache_dir=cache)
    built = Archive(settings).build([str(corpus_copy)])
    assert built.embedded == 0
    (corpus_copy / "storage-pilot.md").write_text(NEW_ARTICLE, encoding="utf-8")

    stages = StageRecorder()
    with_ray = settings.with_overrides("test", ray_address="local", ray_workers=1)
    report = Archive(with_ray).update(progress=stages)

    assert (report.added, report.articles) == (1, built.articles + 1)
    new_passages = report.passages - built.passages
    assert new_passages >= 1 and report.embedded == new_passages
    assert report.reused_embeddings == built.passages
    assert "embedding passages on Ray (1 worker)" in stages.stages
    assert "embedding passages" not in stages.stages  # nothing was embedded locally
    search = Archive(settings).search("社区储能站试点")
    assert search.hits and search.hits[0].article.title == "北京试点社区储能站"
