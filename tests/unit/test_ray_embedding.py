"""rag index build/update --ray without starting Ray: bad addresses, the missing extra, an
unreachable cluster, an update with nothing to embed, a build that never imports ray; over
test-hash indexes (Ray embedding with e5 is in integration/test_ray_embedding.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support.ray_support import NEW_ARTICLE, StageRecorder, closed_port, needs_ray
from support.sample import ROOT, SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.index.store import current_version_dir


def test_update_with_nothing_new_never_contacts_the_cluster(tmp_path, hash_settings, sample_dir):
    Archive(hash_settings).build([str(sample_dir)])
    unreachable = hash_settings.with_overrides(
        "test", ray_address=f"ray://127.0.0.1:{closed_port()}"
    )
    stages = StageRecorder()
    report = Archive(unreachable).update(progress=stages)
    assert report.embedded == 0
    assert not any("Ray" in stage for stage in stages.stages)


@needs_ray
def test_unreachable_cluster_is_one_line_and_the_live_index_is_untouched(
    tmp_path, corpus_copy, hash_settings
):
    index_dir = hash_settings.index_dir
    Archive(hash_settings).build([str(corpus_copy)])
    live = current_version_dir(index_dir)
    (corpus_copy / "storage-pilot.md").write_text(NEW_ARTICLE, encoding="utf-8")
    address = f"ray://127.0.0.1:{closed_port()}"

    result = CliRunner().invoke(
        app,
        ["index", "update", "--index", str(index_dir), "--ray", address],
    )

    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Ray cluster at ")
    assert address in lines[0] and "nothing was changed" in lines[0]
    assert "Traceback" not in result.output
    assert current_version_dir(index_dir) == live
    assert Archive(hash_settings).stats().articles == 5


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


def test_a_build_without_ray_never_imports_it(tmp_path):
    code = (
        "import sys\n"
        "from rag.archive import Archive\n"
        "from rag.config import Settings\n"
        f"settings = Settings(index_dir={str(tmp_path / 'i')!r}, embedder='test-hash')\n"
        f"Archive(settings).build([{str(SAMPLE)!r}])\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
