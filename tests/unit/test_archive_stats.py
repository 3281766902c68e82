"""``Archive.stats`` while another process writes: a file that vanishes between listing a
folder and reading its size (SQLite's journal beside the embedding cache) is not an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag import Archive, Settings


def test_stats_survive_a_file_vanishing_meanwhile(
    hash_index: tuple[Settings, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = hash_index
    cache = settings.embedding_cache_dir
    journal = Path(cache) / "embeddings.sqlite-journal"
    journal.write_bytes(b"x" * 10)
    real_getsize = os.path.getsize

    def vanishing(name: str) -> int:
        if name.endswith("-journal"):
            raise FileNotFoundError(name)  # deleted by the writer after the folder was listed
        return real_getsize(name)

    monkeypatch.setattr(os.path, "getsize", vanishing)
    try:
        stats = Archive(settings).stats()
    finally:
        journal.unlink()
    assert stats.bytes_cache > 0 and stats.bytes_index > 0
