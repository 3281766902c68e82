"""sentence-transformers backend for any model name or local path (optional extra ``st``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.base import Kind
from rag.embed.registry import LoadOptions
from rag.errors import MissingDependencyError, RagError


class SentenceTransformersBackend:
    """Loads a sentence-transformers model and honours its query/passage prompts.

    The model's own ``prompts`` (e.g. ``{"query": "query: ", "passage": "passage: "}``)
    are used when it defines them; e5-family models without them get e5's prefixes.
    """

    def __init__(self, model: str, device: str = "cpu") -> None:
        if Path(model).expanduser().exists():
            # A local model needs no hub: never let a lookup stall on a closed network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            model = str(Path(model).expanduser().resolve())
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError(
                "the sentence-transformers backend needs the 'st' extra: "
                "pip install torch==2.13.0 && pip install 'rag-news[st]'"
            ) from None
        try:
            self._model: Any = SentenceTransformer(model, device=device)
        except Exception as exc:  # the library raises many kinds for a bad name/path
            raise RagError(f"cannot load sentence-transformers model {model!r}: {exc}") from None
        self.name = f"st:{model}"
        self.fingerprint = model_fingerprint(self.name, model)
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        prompts: dict[str, str] = {
            str(k): str(v) for k, v in (getattr(self._model, "prompts", {}) or {}).items()
        }
        if not prompts and "e5" in model.lower():
            prompts = {"query": "query: ", "passage": "passage: "}
        self.prompts: dict[str, str] = {
            "query": prompts.get("query", ""),
            "passage": prompts.get("passage", prompts.get("document", "")),
        }

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        prefix = self.prompts[kind]
        vectors = self._model.encode(
            [prefix + t for t in texts],
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def load(spec: str, options: LoadOptions) -> SentenceTransformersBackend:
    """The registry's way in: ``st:NAME_OR_PATH``."""
    return SentenceTransformersBackend(spec.removeprefix("st:"))


def recorded_name(spec: str) -> str:
    return spec


def model_fingerprint(name: str, model: str) -> str:
    """The model's name and, for a local folder, the size and modification time of each
    of its files: weights replaced in place get vectors of their own."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return name
    stamp = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        info = path.stat()
        stamp.update(f"{path.relative_to(folder)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return f"{name}@{stamp.hexdigest()[:16]}"
