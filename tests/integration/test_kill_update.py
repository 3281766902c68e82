"""Crash safety, measured rather than sampled.

(a) ``rag index update`` is SIGKILLed at moments drawn over the whole length of an
unkilled update (one moment in each of N equal slices, so every phase is hit): updates
that add five articles (5 -> 10) alternate with updates that remove them (10 -> 5).
After every kill the index holds the old article count or the new one (the new one
exactly when ``CURRENT`` moved), ``rag ask`` answers from it, and the next update
finishes with the new count and leaves no half-written version behind. What was left on
disk tells which phase each kill hit; the tally is printed (run pytest with ``-s``).

(b) A reader process searches in a loop while another process publishes several
updates and a rebuild: no query fails, every query has hits, and the reader moves
through at least two versions.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.sample import ROOT, SAMPLE
from typer.testing import CliRunner

import rag.index.local.segments as segments
from rag import Archive, Settings
from rag.cli import app
from rag.index.store import KEEP_OLD_VERSIONS

OPED2 = ROOT / "tests" / "data" / "oped2"
QUESTION = "中美在COP28上承诺了什么"
RUN_CLI = [sys.executable, "-c", "from rag.cli import app; app()"]
# the same, writing updates as deltas over the base (rag.index.local.segments) at any size
DELTAS = "s.DELTA_MIN_BASE_PASSAGES = 0; s.MAX_DELTA_SHARE = 10.0"
RUN_CLI_DELTA = [
    sys.executable,
    "-c",
    f"import rag.index.local.segments as s; {DELTAS}; from rag.cli import app; app()",
]
TRIALS = 24  # half add, half remove
OLD, NEW = 5, 10  # articles without and with the five oped2 articles

runner = CliRunner()

PHASES = (
    "starting (interpreter, imports, settings)",
    "reading + embedding (writer lock held)",
    "embedded (vectors cached, nothing staged)",
    "writing the new version (staged, CURRENT not moved)",
    "published (CURRENT moved, cleaning up)",
    "finished before the kill",
)


def env_for(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_CACHE_DIR"] = str(cache)
    return env


def add_articles(folder: Path, trial: int) -> None:
    """The five oped2 articles, each with a paragraph new to this trial (new vectors)."""
    target = folder / "new"
    target.mkdir(exist_ok=True)
    for source in sorted(OPED2.iterdir()):
        text = source.read_text(encoding="utf-8")
        note = f"\n<p>编者按：本文在第{trial}次更新时重新收录，内容未作改动。</p>\n"
        (target / source.name).write_text(text + note, encoding="utf-8")


def remove_articles(folder: Path) -> None:
    shutil.rmtree(folder / "new")


def update_command(index: Path, removing: bool, cli: list[str] = RUN_CLI) -> list[str]:
    return [*cli, "index", "update", "--index", str(index)] + (
        ["--allow-removals"] if removing else []
    )


def cached_vectors(cache: Path) -> int:
    db = cache / "embeddings.sqlite"
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM vectors").fetchone()[0])
    finally:
        conn.close()


def live_version(index: Path) -> str:
    return (index / "CURRENT").read_text(encoding="utf-8").strip()


def staging_dirs(index: Path) -> list[str]:
    return [p.name for p in (index / "versions").iterdir() if p.name.startswith("tmp-")]


def versions(index: Path) -> set[str]:
    return {p.name for p in (index / "versions").iterdir() if p.name.startswith("v-")}


def phase_left_on_disk(
    index: Path, pid: int, before: tuple[str, set[str], int], cache: Path
) -> str:
    """Which phase the killed writer was in, from the traces each phase leaves.

    ``before`` is the live version, the version folders and the cached vector count
    from before the update started.
    """
    live_before, versions_before, vectors_before = before
    if live_version(index) != live_before:
        return PHASES[4]
    if staging_dirs(index) or versions(index) - versions_before:
        return PHASES[3]  # a staging folder, or one renamed into place but not yet live
    if cached_vectors(cache) > vectors_before:
        return PHASES[2]
    lock = (index / ".lock").read_text(encoding="utf-8").strip()
    if lock == str(pid):
        return PHASES[1]
    return PHASES[0]


def timed_update(index: Path, removing: bool, cache: Path, cwd: Path, cli: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(
        update_command(index, removing, cli),
        env=env_for(cache),
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def ask_hits(index: Path, cache: Path, answer: bool = False) -> list[dict[str, Any]]:
    args = ["ask", QUESTION, "--index", str(index), "--json", "--min-score", "0"]
    result = runner.invoke(
        app, args if answer else [*args, "--no-answer"], env={"RAG_CACHE_DIR": str(cache)}
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    if answer:
        assert data["answer"] and data["answer"]["text"], data
    return data["hits"]


def update_in_process(index: Path, cache: Path, removing: bool) -> dict[str, Any]:
    args = ["index", "update", "--index", str(index), "--json"]
    result = runner.invoke(
        app, [*args, "--allow-removals"] if removing else args, env={"RAG_CACHE_DIR": str(cache)}
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def articles_now(index: Path, cache: Path) -> int:
    with Archive(Settings(index_dir=index, cache_dir=cache)) as archive:
        return archive.stats().articles


@pytest.mark.slow
@pytest.mark.usefixtures("sample_index")  # fills embedding_cache with the sample's vectors
@pytest.mark.parametrize("layout", ["whole", "delta"])
def test_killed_updates_leave_the_old_or_the_new_index(
    tmp_path: Path, embedding_cache: Path, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``whole``: each update writes a whole version; ``delta``: a delta over the base
    whose files the new version links (``rag.index.local.segments``)."""
    cli = RUN_CLI
    if layout == "delta":
        cli = RUN_CLI_DELTA
        monkeypatch.setattr(segments, "DELTA_MIN_BASE_PASSAGES", 0)
        monkeypatch.setattr(segments, "MAX_DELTA_SHARE", 10.0)
    folder, index = tmp_path / "archive", tmp_path / "index"
    shutil.copytree(SAMPLE, folder)
    Archive(Settings(index_dir=index, cache_dir=embedding_cache)).build([str(folder)])

    # warm the cache with the oped2 text, then time one update of each kind unkilled
    add_articles(folder, 0)
    timed_update(index, False, embedding_cache, tmp_path, cli)
    remove_articles(folder)
    durations = {"remove": timed_update(index, True, embedding_cache, tmp_path, cli)}
    add_articles(folder, 1)
    durations["add"] = timed_update(index, False, embedding_cache, tmp_path, cli)
    assert articles_now(index, embedding_cache) == NEW
    delta = index / "versions" / live_version(index) / "delta"
    assert delta.is_dir() == (layout == "delta")

    rng = random.Random(20240601)
    per_kind = TRIALS // 2
    delays = {
        kind: rng.sample(
            [(i + rng.random()) * 1.05 * durations[kind] / per_kind for i in range(per_kind)],
            per_kind,
        )
        for kind in ("remove", "add")
    }
    kills: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {"add": Counter(), "remove": Counter()}
    for trial in range(TRIALS):
        removing = trial % 2 == 0
        kind = "remove" if removing else "add"
        before, after = (NEW, OLD) if removing else (OLD, NEW)
        if removing:
            remove_articles(folder)
        else:
            add_articles(folder, trial + 2)
        on_disk = (live_version(index), versions(index), cached_vectors(embedding_cache))

        proc = subprocess.Popen(
            update_command(index, removing, cli),
            env=env_for(embedding_cache),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        delay = delays[kind][trial // 2]
        try:
            proc.wait(timeout=delay)
            phase = PHASES[5]
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            phase = phase_left_on_disk(index, proc.pid, on_disk, embedding_cache)
        finally:
            if proc.stderr:
                proc.stderr.close()
        kills[phase] += 1
        by_kind[kind][phase] += 1

        count = articles_now(index, embedding_cache)
        published = phase in (PHASES[4], PHASES[5])
        assert count == (after if published else before), (trial, kind, delay, phase, count)
        assert ask_hits(index, embedding_cache), f"no hits after a kill in {phase}"

        report = update_in_process(index, embedding_cache, removing)
        assert report["articles"] == after, report
        assert articles_now(index, embedding_cache) == after
        # nothing changed since: the next update finds that and publishes nothing
        live = live_version(index)
        again = update_in_process(index, embedding_cache, removing)
        assert not again["published"] and again["articles"] == after, again
        assert live_version(index) == live
        assert not staging_dirs(index), "the next writer left a half-written version"
        assert len(versions(index)) <= 1 + KEEP_OLD_VERSIONS, sorted(versions(index))

    assert ask_hits(index, embedding_cache, answer=True)
    print(
        f"\nkill-update ({layout}): {TRIALS} trials ({per_kind} updates adding 5 articles, {per_kind} "
        f"removing them), {TRIALS - kills[PHASES[5]]} killed mid-run; an unkilled update took "
        f"{durations['add']:.2f}s (add), {durations['remove']:.2f}s (remove)"
    )
    for phase in PHASES:
        print(
            f"  {kills[phase]:3d} kills  {phase}  "
            f"(add {by_kind['add'][phase]}, remove {by_kind['remove'][phase]})"
        )
    assert sum(kills.values()) == TRIALS
    # the spread reached the update's own work, not only interpreter start-up
    assert kills[PHASES[1]] + kills[PHASES[2]] + kills[PHASES[3]] + kills[PHASES[4]] >= 3


READER = r"""
import json, sys
from pathlib import Path
from rag import Archive, Settings

index, cache, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
questions = [
    "中美在COP28上承诺了什么", "克里与解振华谈了什么", "格拉斯哥联合宣言",
    "耶路撒冷文学奖", "全球盘点决定", "甲烷排放", "气候特使", "损失与损害基金",
]
archive = Archive(Settings(index_dir=index, cache_dir=cache))
queries, errors, empty, versions = 0, [], 0, []
print("ready", flush=True)
while not stop.exists() or queries < 20:
    question = questions[queries % len(questions)]
    queries += 1
    try:
        result = archive.search(question)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        continue
    if not result.hits:
        empty += 1
    if not versions or versions[-1] != result.version:
        versions.append(result.version)
print(json.dumps({"queries": queries, "errors": errors, "empty": empty, "versions": versions}))
"""


@pytest.mark.slow
@pytest.mark.usefixtures("sample_index")
def test_reader_never_fails_while_another_process_publishes(
    tmp_path: Path, embedding_cache: Path
) -> None:
    folder, index = tmp_path / "archive", tmp_path / "index"
    shutil.copytree(SAMPLE, folder)
    Archive(Settings(index_dir=index, cache_dir=embedding_cache)).build([str(folder)])
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(index), str(embedding_cache), str(stop)],
        env=env_for(embedding_cache),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready"
        published = [live_version(index)]
        writes = [
            ("add", lambda: add_articles(folder, 0), ["index", "update"]),
            ("remove", lambda: remove_articles(folder), ["index", "update", "--allow-removals"]),
            ("rebuild", lambda: None, ["index", "build", str(folder)]),
            ("add", lambda: add_articles(folder, 1), ["index", "update"]),
        ]
        for _, change, command in writes:
            change()
            subprocess.run(
                [*RUN_CLI, *command, "--index", str(index)],
                env=env_for(embedding_cache),
                cwd=tmp_path,
                check=True,
                capture_output=True,
            )
            published.append(live_version(index))
        stop.touch()
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    print(
        f"\nreader: {summary['queries']} queries, {len(summary['errors'])} errors, "
        f"{summary['empty']} without hits, {len(summary['versions'])} versions seen "
        f"of {len(published)} published"
    )
    assert summary["errors"] == [], summary["errors"][:5]
    assert summary["empty"] == 0
    assert len(summary["versions"]) >= 2
    # versions are seen in the order they were published, never an unpublished one
    assert set(summary["versions"]) <= set(published), summary["versions"]
    order = [published.index(v) for v in summary["versions"]]
    assert order == sorted(order)
