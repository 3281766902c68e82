"""An unknown e5 engine is a clear error in every place one can be named, before any
model loads (the engines themselves run in integration/test_embedders.py)."""

from __future__ import annotations

import pytest

from rag.config import Settings, load_settings
from rag.embed import get_embedder
from rag.errors import ConfigError


def test_an_unknown_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("RAG_E5_ENGINE", "gpu")
    with pytest.raises(ConfigError, match="RAG_E5_ENGINE") as caught:
        load_settings()
    assert "gpu" in str(caught.value) and "e5_engine" in str(caught.value)
    with pytest.raises(ConfigError, match="gpu"):
        get_embedder("e5-small", engine="gpu")
    with pytest.raises(ConfigError, match="gpu"):
        Settings(e5_engine="gpu")
