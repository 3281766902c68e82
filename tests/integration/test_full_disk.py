"""A full disk under the index, the embedding cache and the model cache: one ``error:``
line naming the folder, nothing half-written left behind, the live version unchanged.

The disk is a small tmpfs mounted for the test (root, or a user namespace where the
machine allows one); elsewhere these tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.sample import QUESTION, SAMPLE

from rag.index.store import VERSIONS, current_version_dir

RAG = [sys.executable, "-m", "rag.cli"]


def _can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = Path(f"/tmp/rag-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True
    )
    if mounted.returncode == 0:
        subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return mounted.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount(), reason="cannot mount a small tmpfs here")


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KB disk: room for one test-hash version of the sample, not for two."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def rag(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "RAG_EMBEDDER": "test-hash", **env}
    return subprocess.run([*RAG, *args], capture_output=True, text=True, env=environment)


def one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    return lines[0]


def fill(disk: Path) -> None:
    """Use up the disk's free space with one file."""
    with open(disk / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass


def test_a_first_build_on_a_full_disk_leaves_nothing_half_written(small_disk: Path) -> None:
    fill(small_disk)
    index = small_disk / "index"
    line = one_error_line(rag("index", "build", str(SAMPLE), "--index", str(index)))
    assert "no space left" in line and str(small_disk) in line
    versions = index / VERSIONS
    assert not versions.exists() or not any(versions.iterdir())


def test_a_rebuild_and_an_update_that_fill_the_disk_keep_the_live_version(
    small_disk: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    index = small_disk / "index"
    assert rag("index", "build", str(corpus), "--index", str(index)).returncode == 0
    live = current_version_dir(index).name
    before = rag("ask", QUESTION, "--index", str(index), "--json", "--passages-only")
    assert before.returncode == 0

    line = one_error_line(rag("index", "build", str(corpus), "--index", str(index)))
    assert "no space left" in line and "index_dir" in line
    (corpus / "extra.md").write_text("# 新文章\n\n" + "中美气候谈判取得新进展。" * 200, "utf-8")
    fill(small_disk)
    line = one_error_line(rag("index", "update", "--index", str(index)))
    assert "no space left" in line or "cannot write" in line

    assert current_version_dir(index).name == live
    assert not [p for p in (index / VERSIONS).iterdir() if p.name.startswith("tmp-")]
    after = rag("ask", QUESTION, "--index", str(index), "--json", "--passages-only")
    assert after.returncode == 0 and after.stdout == before.stdout
    assert rag("index", "verify", "--index", str(index)).returncode == 0


def test_an_embedding_cache_on_a_full_disk_is_one_line_naming_it(
    small_disk: Path, tmp_path: Path
) -> None:
    fill(small_disk)
    run = rag(
        "index",
        "build",
        str(SAMPLE),
        "--index",
        str(tmp_path / "index"),
        RAG_CACHE_DIR=str(small_disk / "cache"),
    )
    line = one_error_line(run)
    assert "embedding cache" in line and "cache_dir" in line
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_a_model_cache_on_a_full_disk_is_one_line_naming_it(
    small_disk: Path, tmp_path: Path
) -> None:
    """The real e5 passage engine (the sample's 17 passages are one batch for it) has to
    write its graph into the model cache first."""
    fill(small_disk)
    run = subprocess.run(
        [*RAG, "index", "build", str(SAMPLE), "--index", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "RAG_MODEL_CACHE_DIR": str(small_disk / "models"),
            "RAG_E5_ENGINE": "openvino",
        },
    )
    line = one_error_line(run)
    assert "model cache" in line and "model_cache_dir" in line and str(small_disk) in line


def test_an_embedding_cache_on_a_read_only_disk_is_read_and_never_half_written(
    small_disk: Path, tmp_path: Path
) -> None:
    """A cache holding every vector is only read; one that lacks some is one line."""
    cache = small_disk / "cache"
    assert (
        rag(
            "index", "build", str(SAMPLE), "--index", str(tmp_path / "a"), RAG_CACHE_DIR=str(cache)
        ).returncode
        == 0
    )
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    again = rag(
        "index", "build", str(SAMPLE), "--index", str(tmp_path / "b"), RAG_CACHE_DIR=str(cache)
    )
    assert again.returncode == 0 and "reused 17" in again.stdout, again.stderr
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    (corpus / "new.md").write_text("# 新文章\n\n" + "中美气候谈判取得新进展。" * 20, "utf-8")
    line = one_error_line(
        rag("index", "build", str(corpus), "--index", str(tmp_path / "c"), RAG_CACHE_DIR=str(cache))
    )
    assert "embedding cache" in line and "read-only" in line and "cache_dir" in line
    assert not (tmp_path / "c" / "CURRENT").exists()
