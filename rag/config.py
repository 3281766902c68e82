"""Settings: one dataclass, loaded from defaults < TOML file < environment < flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomllib

from rag.errors import ConfigError

DEFAULT_EMBEDDER = "e5-small"
CONFIG_ENV = "RAG_CONFIG"


@dataclass(frozen=True)
class Settings:
    """Everything the library can be told. Flags override env, env overrides the file."""

    index_dir: Path = Path("indexes/default")
    embedder: str = DEFAULT_EMBEDDER
    chunk_size: int = 300
    chunk_overlap: int = 50
    top_k: int = 5
    per_article: int = 2
    mode: str = "hybrid"
    # No-answer thresholds on the best passage's cosine, calibrated by
    # scripts/calibrate_no_answer.py (Chinese questions; other questions are
    # cross-lingual and score lower). 0 turns the check off.
    min_score_zh: float = 0.87
    min_score_other: float = 0.75
    max_file_mb: float = 20.0
    embed_batch: int = 128
    # flat (exact), ivf or hnsw (approximate); auto = flat below 50k passages, else ivf
    index_kind: str = "auto"
    tokenizer: str = "jieba+bigram"
    # Embedding cache location; None keeps it inside the index (index_dir/cache).
    cache_dir: Path | None = None
    llm_base_url: str = "http://127.0.0.1:11434/v1"
    llm_model: str = "qwen2.5:7b-instruct"
    llm_api_key: str = ""
    llm_timeout: float = 60.0

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given (non-None) fields replaced and type-coerced."""
        return replace(self, **_coerce({k: v for k, v in overrides.items() if v is not None}))


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _FIELD_TYPES:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(_FIELD_TYPES))}")
        kind = str(_FIELD_TYPES[key])
        try:
            if "Path" in kind:
                out[key] = Path(value).expanduser()
            elif kind == "int":
                out[key] = int(value)
            elif kind == "float":
                out[key] = float(value)
            else:
                out[key] = str(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {key!r} has an invalid value {value!r}") from None
    return out


def config_file_path() -> Path | None:
    """The settings file in use: $RAG_CONFIG, ./rag.toml, or ~/.config/rag/config.toml."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} points at {path}, which is not a file")
        return path
    for candidate in (Path("rag.toml"), Path("~/.config/rag/config.toml").expanduser()):
        if candidate.is_file():
            return candidate
    return None


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):  # [llm] base_url = ... -> llm_base_url
            flat.update({f"{key}_{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _from_env() -> dict[str, Any]:
    return {
        name: os.environ[f"RAG_{name.upper()}"]
        for name in _FIELD_TYPES
        if f"RAG_{name.upper()}" in os.environ
    }


def load_settings(**flags: Any) -> Settings:
    """Defaults, then the settings file, then RAG_* environment variables, then ``flags``."""
    settings = Settings()
    path = config_file_path()
    if path is not None:
        settings = settings.with_overrides(**_from_file(path))
    return settings.with_overrides(**_from_env()).with_overrides(**flags)
