"""No typo loses a live index, and the embedder check reads every source of settings: on
the real sample index built with e5 (the other trust checks run with test-hash in
unit/test_trust.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.trust import (
    check_a_typo_keeps_the_live_index,
    check_the_embedder_check_names,
    make_project,
    use_other_embedder,
    user_environment,
)


@pytest.fixture()
def env(embedding_cache: Path, sample_index, monkeypatch) -> dict[str, str]:
    """RAG_* environment of a user with no settings file, sharing the session's vectors."""
    return user_environment(monkeypatch, RAG_CACHE_DIR=str(embedding_cache))


@pytest.fixture()
def project(tmp_path: Path, env, monkeypatch) -> Path:
    """A project folder with corpus/sample, indexed as the README does (relative paths)."""
    return make_project(tmp_path, monkeypatch)


def test_a_typo_in_the_build_path_keeps_the_live_index(project):
    asked = check_a_typo_keeps_the_live_index(project)
    assert asked.exit_code == 0 and json.loads(asked.stdout)["found"]


@pytest.mark.parametrize("where", ["environment", "settings file"])
def test_the_embedder_check_uses_every_source_of_settings(project, monkeypatch, where):
    use_other_embedder(project, monkeypatch, where)
    check_the_embedder_check_names("intfloat/multilingual-e5-small", where)
