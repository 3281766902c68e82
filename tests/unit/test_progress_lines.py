"""The CLI's progress when stderr is not a terminal (a cron job's log): plain lines, "stage:
done/total", at most one every ``LINE_SECONDS`` and every ``LINE_SHARE`` of a stage; none
on a terminal, where the bars show it (test-hash builds; no integration counterpart)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from support.sample import SAMPLE
from typer.testing import CliRunner

import rag.cli.progress as cli_progress
from rag.cli import app
from rag.cli.progress import RichProgress

LINE = re.compile(r"^(reading articles|embedding passages): (\d+)/(\d+)$")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def progress_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if LINE.match(line)]


def run_an_hour_long_embedding(console: Console) -> None:
    """30,000 passages embedded 128 at a time, 15 s a batch (235 batches, ~59 minutes)."""
    clock = Clock()
    with RichProgress(console, clock=clock) as progress:
        progress.start("embedding passages", 30_000)
        done = 0
        while done < 30_000:
            clock.now += 15
            step = min(128, 30_000 - done)
            progress.advance(step)
            done += step


def test_off_a_terminal_an_hour_long_stage_writes_a_line_every_30_seconds() -> None:
    buffer = io.StringIO()
    run_an_hour_long_embedding(Console(file=buffer, force_terminal=False, width=200))
    lines = progress_lines(buffer.getvalue())
    # 30 s (two batches) is not yet 1% of the stage (300 passages): a line every third
    # batch, 45 s, from the first past the quiet start
    assert lines[:2] == ["embedding passages: 384/30000", "embedding passages: 768/30000"]
    assert len(lines) == 78
    counts = [int(LINE.match(line).group(2)) for line in lines]  # type: ignore[union-attr]
    assert counts == sorted(counts)


def test_a_fast_stage_writes_a_line_per_percent_at_most() -> None:
    buffer = io.StringIO()
    clock = Clock()
    with RichProgress(Console(file=buffer, force_terminal=False), clock=clock) as progress:
        clock.now += 60  # past the quiet start: a stage start is announced at once
        progress.start("reading articles", 1000)
        for _ in range(1000):
            clock.now += 40  # each step slower than LINE_SECONDS: the share decides
            progress.advance()
    lines = progress_lines(buffer.getvalue())
    assert lines[0] == "reading articles: 0/1000"
    assert lines[1:3] == ["reading articles: 10/1000", "reading articles: 20/1000"]
    assert len(lines) == 101


def test_on_a_terminal_only_the_bar_shows_progress() -> None:
    buffer = io.StringIO()
    run_an_hour_long_embedding(Console(file=buffer, force_terminal=True, width=200))
    assert "embedding passages" in buffer.getvalue()  # the bar drew
    assert progress_lines(buffer.getvalue()) == []


def test_a_build_off_a_terminal_writes_progress_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no wait: every step of these seconds-long stages is past LINE_SECONDS
    monkeypatch.setattr(cli_progress, "LINE_SECONDS", 0.0, raising=False)
    result = CliRunner().invoke(
        app,
        [
            "index",
            "build",
            str(SAMPLE),
            "--index",
            str(tmp_path / "idx"),
            "--json",
            "--embedder=test-hash",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = progress_lines(result.stderr)
    assert lines[0] == "reading articles: 0/5"
    assert "reading articles: 5/5" in lines
    embedding = [line for line in lines if line.startswith("embedding passages: ")]
    total = LINE.match(embedding[0]).group(3)  # type: ignore[union-attr]
    assert embedding[0] == f"embedding passages: 0/{total}"
    assert embedding[-1] == f"embedding passages: {total}/{total}"
    assert not progress_lines(result.stdout), "progress goes to stderr, results to stdout"


def test_a_build_over_in_seconds_leaves_its_log_quiet(tmp_path: Path) -> None:
    """stderr to a pipe, as under cron: a build shorter than LINE_SECONDS writes nothing."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "index",
            "build",
            str(SAMPLE),
            "--index=idx",
            "--embedder=test-hash",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
