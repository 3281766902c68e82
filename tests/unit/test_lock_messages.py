"""A writer that finds the index (or the feeds) locked is told who holds the lock (the
pid written in the lock file) and only flags the command it ran has, or that the
commands it names have. The holder is another process, as it would be for a user."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.sample import SAMPLE
from typer.testing import CliRunner

from rag.cli import app
from rag.errors import IndexLockedError
from rag.index.store import writer_lock

runner = CliRunner()
HOLD = """
import sys, time
from pathlib import Path
from rag.{module} import {lock}
with {lock}(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


@contextmanager
def held_by_another_process(module: str, lock: str, folder: Path) -> Iterator[int]:
    """Hold ``rag.<module>.<lock>`` on ``folder`` in a child process; yields its pid."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(module=module, lock=lock), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield child.pid
    finally:
        child.kill()
        child.wait(30)


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    return {"RAG_EMBEDDER": "test-hash", "RAG_FEED_RETRIES": "0", "RAG_FEED_TIMEOUT": "2"}


def flags_of(*command: str) -> set[str]:
    shown = runner.invoke(app, [*command, "--help"]).stdout
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", shown))


def flags_in(message: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", message))


def test_the_index_lock_names_the_holder(tmp_path: Path) -> None:
    index = tmp_path / "index"
    with (
        held_by_another_process("index.store", "writer_lock", index) as pid,
        pytest.raises(IndexLockedError) as raised,
        writer_lock(index),
    ):
        pass
    assert f"pid {pid}" in str(raised.value) and str(index) in str(raised.value)


def test_index_build_suggests_its_own_wait_flag(tmp_path: Path, env: dict[str, str]) -> None:
    index = tmp_path / "index"
    with held_by_another_process("index.store", "writer_lock", index) as pid:
        result = runner.invoke(app, ["index", "build", str(SAMPLE), "--index", str(index)], env=env)
    assert result.exit_code == 1
    assert f"pid {pid}" in result.stderr and "--wait" in result.stderr
    assert flags_in(result.stderr) <= flags_of("index", "build")
    assert "Traceback" not in result.output


def test_feed_pull_suggests_no_flag_it_lacks(tmp_path: Path, env: dict[str, str]) -> None:
    """The pull saves articles, then finds the index being written: its one line names the
    holder, and any flag it mentions belongs to the pull or to a command the line names."""
    index, archive = tmp_path / "index", tmp_path / "archive"
    url = "http://127.0.0.1:9/feed.xml"
    added = runner.invoke(
        app, ["feed", "add", url, "--index", str(index), "--archive", str(archive)], env=env
    )
    assert added.exit_code == 0, added.output
    archive.mkdir()
    shutil.copy(next(SAMPLE.glob("*.txt")), archive)  # an article a pull saved earlier
    with held_by_another_process("index.store", "writer_lock", index) as pid:
        result = runner.invoke(app, ["feed", "pull", "--index", str(index)], env=env)
    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if "index not updated" in line]
    assert f"pid {pid}" in line
    allowed = flags_of("feed", "pull")
    for command in (("index", "build"), ("index", "update")):
        if f"rag {' '.join(command)}" in line:
            allowed |= flags_of(*command)
    assert flags_in(line) <= allowed, line


def test_a_second_feed_pull_names_the_running_one(tmp_path: Path, env: dict[str, str]) -> None:
    index = tmp_path / "index"
    runner.invoke(app, ["feed", "add", "http://127.0.0.1:9/feed.xml", "--index", str(index)])
    with held_by_another_process("feeds.store", "pull_lock", index) as pid:
        result = runner.invoke(app, ["feed", "pull", "--index", str(index)], env=env)
    assert result.exit_code == 1
    assert "another 'rag feed pull' is running" in result.stderr
    assert f"pid {pid}" in result.stderr
    assert flags_in(result.stderr) <= flags_of("feed", "pull")
