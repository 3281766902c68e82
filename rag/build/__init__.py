"""The build pipeline: read sources → merge duplicates → chunk → embed → store."""

from rag.build.live import settings_for_update
from rag.build.pipeline import build_index, chunk_articles

__all__ = ["build_index", "chunk_articles", "settings_for_update"]
