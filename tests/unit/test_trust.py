"""No typo, cron job, crash or odd input loses a live index: the reproduced failures of
the trust issue, each driven through the real CLI on the real sample articles, indexed
with the test-hash embedder (integration/test_trust.py runs the real engine's)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import one_line_error
from support.older_versions import written_before_checksums
from support.sample import QUESTION, ROOT, SAMPLE
from support.trust import (
    articles,
    check_a_typo_keeps_the_live_index,
    check_the_embedder_check_names,
    make_project,
    rag,
    use_other_embedder,
    user_environment,
)

from rag.config import TEST_EMBEDDER
from rag.index.store import FORMAT_VERSION, MANIFEST, current_version_dir


@pytest.fixture()
def env(monkeypatch) -> dict[str, str]:
    """RAG_* environment of a user with no settings file whose builds use test-hash."""
    return user_environment(monkeypatch, RAG_EMBEDDER=TEST_EMBEDDER)


@pytest.fixture()
def project(tmp_path: Path, env, monkeypatch) -> Path:
    """A project folder with corpus/sample, indexed as the README does (relative paths)."""
    return make_project(tmp_path, monkeypatch)


def test_a_typo_in_the_build_path_keeps_the_live_index_plumbing(project):
    asked = check_a_typo_keeps_the_live_index(project)
    assert asked.exit_code == 0 and len(json.loads(asked.stdout)["hits"]) == 5


def test_a_build_where_every_file_fails_publishes_nothing(project):
    bad = project / "bad"
    bad.mkdir()
    (bad / "empty.md").write_bytes(b"")
    (bad / "binary.html").write_bytes(bytes(range(256)) * 40)
    result = rag("index", "build", "bad", "--index", "idx")
    assert result.exit_code == 1
    assert "no article could be read" in result.stderr
    assert articles(project / "idx") == 5


def test_update_from_another_directory_keeps_every_article(project, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("home")
    monkeypatch.chdir(elsewhere)
    result = rag("index", "update", "--index", str(project / "idx"))
    assert result.exit_code == 0, result.output
    assert "5 articles (was 5)" in result.stdout and "removed 0" in result.stdout
    assert articles(project / "idx") == 5


def test_sources_are_stored_absolute_with_the_build_directory(project):
    version = current_version_dir(project / "idx")
    manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["build_cwd"] == str(project)
    assert manifest["source_roots"] == [str(project / "corpus" / "sample")]
    with sqlite3.connect(version / "meta.sqlite") as conn:
        paths = [os.fsdecode(p) for (p,) in conn.execute("SELECT path FROM sources")]
    assert paths and all(Path(p).is_absolute() and Path(p).exists() for p in paths)


def make_format_1(index: Path) -> None:
    """Rewrite the live version as the previous format stored it: relative paths, no cwd."""
    version = current_version_dir(index)
    written_before_checksums(version, format_version=1)
    manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    manifest["source_roots"] = ["corpus/sample"]
    del manifest["build_cwd"]
    (version / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with sqlite3.connect(version / "meta.sqlite") as conn:
        rows = conn.execute("SELECT path FROM sources").fetchall()
        for (path,) in rows:
            relative = os.path.relpath(os.fsdecode(path), index.parent)
            conn.execute(
                "UPDATE sources SET path = ? WHERE path = ?", (os.fsencode(relative), path)
            )


def test_cron_update_of_an_old_relative_index_from_home_keeps_every_article(
    project, tmp_path_factory
):
    """scripts/rebuild_index.py --update, run by cron from $HOME on a format-1 index."""
    make_format_1(project / "idx")
    home = tmp_path_factory.mktemp("cron-home")
    environment = {"HOME": str(home), "PATH": "/usr/bin:/bin"}  # the index names test-hash
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "rebuild_index.py"),
            "--update",
            "--index",
            str(project / "idx"),
        ],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "removed 0" in run.stdout and "unchanged 5" in run.stdout
    assert articles(project / "idx") == 5
    # migrated: the new version stores absolute paths and where the build ran
    manifest = json.loads((current_version_dir(project / "idx") / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["source_roots"] == [str(project / "corpus" / "sample")]


def test_a_missing_source_folder_is_an_error_not_a_deletion(project):
    shutil.move(project / "corpus", project / "moved")
    result = rag("index", "update", "--index", "idx")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "missing" in line and "--allow-removals" in line
    assert articles(project / "idx") == 5
    allowed = rag("index", "update", "--index", "idx", "--allow-removals")
    # every article gone: nothing left to index is still refused, the index stays
    assert allowed.exit_code == 1 and articles(project / "idx") == 5


def test_an_update_that_drops_most_articles_needs_allow_removals(project):
    files = sorted((project / "corpus" / "sample").iterdir())
    for path in files[:3]:
        path.unlink()
    refused = rag("index", "update", "--index", "idx")
    assert refused.exit_code == 1
    assert "would remove 3 of 5" in one_line_error(refused)
    assert articles(project / "idx") == 5
    allowed = rag("index", "update", "--index", "idx", "--allow-removals")
    assert allowed.exit_code == 0, allowed.output
    assert "2 articles (was 5)" in allowed.stdout
    assert articles(project / "idx") == 2


def test_user_text_is_never_markup(project):
    result = rag("ask", QUESTION, "--index", "idx-[/oops]")
    assert result.exit_code == 1
    assert "idx-[/oops]" in one_line_error(result)
    odd = project / "odd"
    odd.mkdir()
    (odd / "[bold]x.md").write_bytes(b"")
    shutil.copy(next((project / "corpus" / "sample").iterdir()), odd / "[red]ok.txt")
    built = rag("index", "build", "odd", "--index", "idx2")
    assert built.exit_code == 0, built.output
    assert "[bold]x.md: empty file" in built.stderr


@pytest.mark.parametrize(
    ("args", "environment", "named"),
    [
        (["--kind", "foo"], {}, "index_kind = 'foo' (from flag --kind)"),
        ([], {"RAG_TOKENIZER": "foo"}, "tokenizer = 'foo' (from environment RAG_TOKENIZER)"),
        (
            ["--chunk-overlap", "400", "--chunk-size", "300"],
            {},
            "chunk_overlap = 400 (from flag --chunk-overlap) must be smaller than "
            "chunk_size = 300 (from flag --chunk-size)",
        ),
        ([], {"RAG_CHUNK_SIZE": "big"}, "chunk_size = 'big' (from environment RAG_CHUNK_SIZE)"),
        ([], {"RAG_E5_ENGINE": "gpu"}, "e5_engine = 'gpu'"),
    ],
)
def test_bad_settings_fail_first_with_one_line(tmp_path, env, args, environment, named):
    index = tmp_path / "never"
    result = rag("index", "build", str(SAMPLE), "--index", str(index), *args, env=environment)
    assert result.exit_code == 2
    assert named in one_line_error(result)
    assert not index.exists()  # refused before any work


def test_a_bad_settings_file_value_names_the_file(tmp_path, env, monkeypatch):
    config = tmp_path / "rag.toml"
    config.write_text("top_k = 0\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = rag("ask", QUESTION)
    assert result.exit_code == 2
    assert f"top_k = 0 (from settings file {Path('rag.toml')})" in one_line_error(result)


def test_a_failed_first_build_leaves_no_misleading_index(tmp_path, env, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.md").write_bytes(b"")
    failed = rag("index", "build", "empty.md", "--index", "idx")
    assert failed.exit_code == 1
    asked = rag("ask", QUESTION, "--index", "idx")
    assert asked.exit_code == 1
    line = one_line_error(asked)
    assert "no index at idx yet" in line and "rag index build" in line


def test_the_python_version_claim_is_true():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"  # rag.config imports tomllib (3.11+)
    assert sys.version_info >= (3, 11)


def test_versions_published_within_one_second_keep_their_order(tmp_path):
    """Garbage collection keeps the newest old version for readers that still use it;
    that needs names that sort in publication order, also within one second (a cron
    update right after a build, a test)."""
    from rag.index.store import (
        FORMAT_VERSION,
        VERSIONS,
        IndexManifest,
        collect_garbage,
        new_staging_dir,
        publish_version,
    )

    empty = IndexManifest(FORMAT_VERSION, "test-hash", 8, 300, 50, "jieba", "flat", 0, 0, 0, "")

    index = tmp_path / "index"
    published = []
    for _ in range(4):
        staging = new_staging_dir(index)
        (staging / MANIFEST).write_text(empty.to_json(), "utf-8")
        published.append(publish_version(index, staging)[0].name)
    assert sorted(published) == published
    collect_garbage(index)
    kept = sorted(p.name for p in (index / VERSIONS).iterdir())
    assert kept == published[-2:]  # the live one and the one just before it
    assert current_version_dir(index).name == published[-1]


@pytest.mark.parametrize("where", ["environment", "settings file"])
def test_the_embedder_check_uses_every_source_of_settings_plumbing(project, monkeypatch, where):
    use_other_embedder(project, monkeypatch, where)
    check_the_embedder_check_names(TEST_EMBEDDER, where)
