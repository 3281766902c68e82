"""Symlinks in the folders a build reads: a link whose target lies outside the folders
named is skipped with one warning naming the link and its target (and is reported in
``--json``), unless told to follow links; links inside the named folders, and paths named
directly, are read (test-hash indexes; no integration counterpart)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support.sample import SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.build.sources import read_sources
from rag.cli import app
from rag.config import Settings
from rag.index.local.reader import IndexReader
from rag.ingest import discover_sources
from rag.progress import SilentProgress

SECRET = "机密文件的内容，绝不能出现在索引里。这一段文字只属于档案之外的那个文件。"
SAMPLES = sorted(SAMPLE.glob("*.txt"))


def indexed_paths(settings: Settings) -> list[str]:
    reader = IndexReader(settings.index_dir)
    try:
        return sorted(source.path for source in reader.meta.sources())
    finally:
        reader.close()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    """corpus/x/ holds three sample articles; outside/ (beside it) a secret article."""
    folder = tmp_path / "corpus" / "x"
    folder.mkdir(parents=True)
    for sample in SAMPLES[:3]:
        shutil.copy(sample, folder / sample.name)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"机密\n\n{SECRET}\n", encoding="utf-8")
    return tmp_path / "corpus"


def test_a_link_to_a_file_outside_is_skipped_with_one_warning(
    corpus: Path, hash_settings: Settings
) -> None:
    link = corpus / "x" / "passwd.txt"
    target = corpus.parent / "outside" / "secret.txt"
    link.symlink_to(target)
    progress = SilentProgress()
    report = Archive(hash_settings).build([str(corpus)], progress=progress)
    assert report.articles == 3
    assert str(link) not in indexed_paths(hash_settings)
    (failure,) = report.failures
    assert failure.path == str(link) and failure.skipped
    assert str(target) in failure.reason
    (warning,) = progress.warnings
    assert str(link) in warning and str(target) in warning


def test_a_link_to_a_folder_outside_is_skipped_with_one_warning(
    corpus: Path, hash_settings: Settings
) -> None:
    link = corpus / "x" / "elsewhere"
    link.symlink_to(corpus.parent / "outside", target_is_directory=True)
    found, failures = discover_sources([str(corpus)])
    assert all(corpus.parent / "outside" not in Path(os.path.realpath(p)).parents for p in found)
    (failure,) = failures
    assert failure.path == str(link) and str(corpus.parent / "outside") in failure.reason
    progress = SilentProgress()
    report = Archive(hash_settings).build([str(corpus)], progress=progress)
    assert report.articles == 3 and len(progress.warnings) == 1


def test_a_glob_skips_a_link_outside_its_folder(corpus: Path) -> None:
    link = corpus / "x" / "passwd.txt"
    link.symlink_to(corpus.parent / "outside" / "secret.txt")
    for pattern in (f"{corpus}/*/*.txt", f"{corpus}/**/*.txt"):
        found, failures = discover_sources([pattern])
        assert link not in found and len(found) == 3, pattern
        assert [f.path for f in failures] == [str(link)], pattern


def test_links_inside_the_named_folders_keep_working(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    shutil.copy(SAMPLES[0], b / "story.txt")
    (a / "story-link.txt").symlink_to(b / "story.txt")
    (a / "sub").symlink_to(b, target_is_directory=True)
    found, failures = discover_sources([str(a), str(b)])
    assert failures == []
    assert found == [a / "story-link.txt"]  # the same file once, under its first name
    found, failures = discover_sources([str(tmp_path)])
    assert failures == [] and found == [a / "story-link.txt"]


def test_a_link_named_directly_is_read(corpus: Path, tmp_path: Path) -> None:
    file_link = tmp_path / "named.txt"
    file_link.symlink_to(corpus.parent / "outside" / "secret.txt")
    folder_link = tmp_path / "named-folder"
    folder_link.symlink_to(corpus.parent / "outside", target_is_directory=True)
    found, failures = discover_sources([str(file_link), str(folder_link)])
    assert failures == []
    assert found == [file_link]  # the folder's one file is the same file
    found, failures = discover_sources([str(folder_link)])
    assert failures == [] and found == [folder_link / "secret.txt"]


def test_follow_symlinks_reads_links_outside(corpus: Path) -> None:
    file_link = corpus / "x" / "passwd.txt"
    file_link.symlink_to(corpus.parent / "outside" / "secret.txt")
    (corpus / "x" / "loop").symlink_to(corpus.parent, target_is_directory=True)
    found, failures = discover_sources([str(corpus)], follow_symlinks=True)
    assert failures == []
    assert file_link in found and len(found) == 4  # the loop back is walked once
    read = read_sources([str(corpus)], [], 1_000_000, SilentProgress(), follow_symlinks=True)
    assert read.failures == [] and read.counts.added == 4
    assert any(SECRET in s.article.text for s in read.sources)


def test_an_update_drops_a_link_outside_that_an_index_holds(
    corpus: Path, hash_settings: Settings
) -> None:
    """An index that holds a link out (named directly, or built before links out were
    skipped) loses it when an update reads the folder the link is in."""
    link = corpus / "x" / "passwd.txt"
    link.symlink_to(corpus.parent / "outside" / "secret.txt")
    Archive(hash_settings).build([str(link), str(corpus)])
    assert str(link) in indexed_paths(hash_settings)
    report = Archive(hash_settings).update([str(corpus)], progress=SilentProgress())
    assert report.removed == 1 and report.articles == 3
    assert str(link) not in indexed_paths(hash_settings)
    assert [f.path for f in report.failures] == [str(link)]


def test_build_json_reports_the_skipped_link(corpus: Path, tmp_path: Path) -> None:
    link = corpus / "x" / "passwd.txt"
    link.symlink_to("/etc/passwd")
    result = CliRunner().invoke(
        app,
        [
            "index",
            "build",
            str(corpus),
            "--index",
            str(tmp_path / "idx"),
            "--json",
            "--embedder=test-hash",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["articles"] == 3 and report["failed"] == 1
    (failure,) = report["failures"]
    assert failure["path"] == str(link) and "/etc/passwd" in failure["reason"]
    assert failure["skipped"] is True
    lines = [line for line in result.stderr.splitlines() if "passwd" in line]
    assert len(lines) == 1 and str(link) in lines[0] and "/etc/passwd" in lines[0]


def test_follow_symlinks_flag_on_build_and_update(corpus: Path, tmp_path: Path) -> None:
    """--follow-symlinks reads a link out, silently; the next update without it drops it."""
    link = corpus / "x" / "passwd.txt"
    link.symlink_to(corpus.parent / "outside" / "secret.txt")
    index = ["--index", str(tmp_path / "idx"), "--json"]
    runner = CliRunner()
    built = runner.invoke(app, ["index", "build", str(corpus), *index, "--embedder=test-hash"])
    assert json.loads(built.stdout)["articles"] == 3
    followed = runner.invoke(app, ["index", "update", *index, "--follow-symlinks"])
    assert followed.exit_code == 0, followed.output
    assert json.loads(followed.stdout)["added"] == 1 and "passwd" not in followed.stderr
    dropped = runner.invoke(app, ["index", "update", *index])
    assert json.loads(dropped.stdout)["removed"] == 1 and "passwd" in dropped.stderr
    rebuilt = runner.invoke(
        app, ["index", "build", str(corpus), *index, "--follow-symlinks", "--embedder=test-hash"]
    )
    assert json.loads(rebuilt.stdout)["articles"] == 4 and rebuilt.stderr == ""
