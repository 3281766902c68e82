"""The embedder protocol and the shared code around it (batching, checks, progress)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Kind = Literal["query", "passage"]


@runtime_checkable
class EmbeddingBackend(Protocol):
    """What a backend implements: one method that embeds one batch.

    ``name`` identifies the model; an index records it and refuses questions embedded
    by a backend with another name. ``fingerprint`` identifies what makes the vectors
    (the model's weights and the engine that runs them): the embedding cache keeps
    vectors under it, so a changed model or engine never reuses another's vectors.
    """

    name: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def encode_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """Vectors for ``texts`` as an (n, dim) float32 array."""
        ...


@runtime_checkable
class SizedJobs(Protocol):
    """A backend that may embed a whole job another way, by its size (see
    ``E5Backend.for_job``)."""

    def for_job(self, texts: Sequence[str]) -> EmbeddingBackend:
        """The backend to embed all of ``texts`` with (itself, or another with its own
        fingerprint)."""
        ...


class Embedder:
    """A backend plus batching, normalisation and progress reporting."""

    def __init__(self, backend: EmbeddingBackend, batch_size: int = 64) -> None:
        self.backend = backend
        self.batch_size = max(1, batch_size)

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def dim(self) -> int:
        return self.backend.dim

    @property
    def fingerprint(self) -> str:
        return self.backend.fingerprint

    def for_job(self, texts: Sequence[str]) -> Embedder:
        """The embedder for a job of these texts: this one, unless its backend would pay
        more to start than the job costs (see ``SizedJobs``)."""
        if isinstance(self.backend, SizedJobs):
            backend = self.backend.for_job(texts)
            if backend is not self.backend:
                return Embedder(backend, self.batch_size)
        return self

    def embed_query(self, text: str) -> np.ndarray:
        """One normalised query vector, shape (dim,)."""
        return self._encode([text], "query")[0]

    def embed_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Normalised passage vectors, shape (n, dim); ``progress(n_done)`` after each batch."""
        return self._encode(texts, "passage", progress)

    def _encode(
        self, texts: Sequence[str], kind: Kind, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            vectors = np.asarray(self.backend.encode_batch(batch, kind), dtype=np.float32)
            if vectors.shape != (len(batch), self.dim):
                raise RuntimeError(
                    f"embedder {self.name} returned shape {vectors.shape}, "
                    f"expected {(len(batch), self.dim)}"
                )
            out[start : start + len(batch)] = normalize(vectors)
            if progress is not None:
                progress(len(batch))
        return out


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero) so inner product is cosine."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
