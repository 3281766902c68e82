"""rag index build/update --ray: a real local Ray (num_cpus=1) embeds with the bundled e5.

The tests that start Ray are marked ``ray`` (Ray's start-up and its worker take ~30 s on
a small machine); ``make test`` runs them, ``pytest -m 'not ray'`` leaves them out.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.sample import ROOT, SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.index.dense import load_dense
from rag.index.store import current_version_dir

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="needs the ray extra: pip install 'rag-news[ray]'",
)

NEW_ARTICLE = """---
title: 北京试点社区储能站
source: 测试日报
url: https://example.com/storage-pilot
published: 2024-03-02
---

北京市在三个社区试点建设储能站，白天储存屋顶光伏发电，晚间向社区供电。
试点为期一年，将评估储能站对电网负荷高峰的削减效果，并据此决定是否推广。
"""


class StageRecorder:
    """A ``Progress`` that remembers which stages ran (to tell the Ray path from the local one)."""

    def __init__(self) -> None:
        self.stages: list[str] = []

    def start(self, stage: str, total: int) -> None:
        self.stages.append(stage)

    def advance(self, steps: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


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


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens on it once the probe is closed


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


def test_update_with_nothing_new_never_contacts_the_cluster(tmp_path, fresh_settings, sample_dir):
    Archive(fresh_settings).build([str(sample_dir)])
    unreachable = fresh_settings.with_overrides(
        "test", ray_address=f"ray://127.0.0.1:{_closed_port()}"
    )
    stages = StageRecorder()
    report = Archive(unreachable).update(progress=stages)
    assert report.embedded == 0
    assert not any("Ray" in stage for stage in stages.stages)


@needs_ray
def test_unreachable_cluster_is_one_line_and_the_live_index_is_untouched(
    tmp_path, corpus_copy, fresh_settings
):
    index_dir = fresh_settings.index_dir
    Archive(fresh_settings).build([str(corpus_copy)])
    live = current_version_dir(index_dir)
    (corpus_copy / "storage-pilot.md").write_text(NEW_ARTICLE, encoding="utf-8")
    address = f"ray://127.0.0.1:{_closed_port()}"

    result = CliRunner().invoke(
        app,
        ["index", "update", "--index", str(index_dir), "--ray", address],
        env={"RAG_CACHE_DIR": str(fresh_settings.cache_dir)},
    )

    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Ray cluster at ")
    assert address in lines[0] and "nothing was changed" in lines[0]
    assert "Traceback" not in result.output
    assert current_version_dir(index_dir) == live
    assert Archive(fresh_settings).stats().articles == 5


@pytest.mark.parametrize("address", ["cluster", "ray://head", "head:99999", "local host:1"])
def test_a_bad_ray_address_is_a_usage_error(tmp_path, address):
    result = CliRunner().invoke(
        app, ["index", "build", str(SAMPLE), "--index", str(tmp_path / "i"), "--ray", address]
    )
    assert result.exit_code == 2
    assert "ray_address" in result.stderr and "flag --ray" in result.stderr
    assert not (tmp_path / "i").exists()


def test_plumbing_without_the_ray_extra_says_what_to_install(tmp_path, corpus_copy, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    result = CliRunner().invoke(
        app,
        ["index", "build", str(corpus_copy), "--index", str(tmp_path / "i"), "--ray", "local"],
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: install the ray extra: pip install 'rag-news[ray]'"
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_a_build_without_ray_never_imports_it(tmp_path, embedding_cache):
    code = (
        "import sys\n"
        "from rag.archive import Archive\n"
        "from rag.config import Settings\n"
        f"Archive(Settings(index_dir={str(tmp_path / 'i')!r}, cache_dir={str(embedding_cache)!r}))"
        f".build([{str(SAMPLE)!r}])\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
