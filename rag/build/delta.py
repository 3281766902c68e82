"""An update written as a delta over the live version's base (``rag.index.local.segments``).

The articles the base holds exactly as the update has them stay where they are; every
other article (new, changed, or in the old delta) goes to the new delta, and the base
rows of articles changed or gone become tombstones. Only the delta is chunked, embedded
(from the cache or the old delta) and written, so the cost follows the change, not the
archive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.build.embedding import PartEncoder
from rag.build.passages import Passages, make_passages
from rag.config import Settings
from rag.embed import Embedder
from rag.index.local.live_parts import LiveVersionParts
from rag.index.local.segments import (
    Tombstones,
    base_passages,
    delta_dir,
    delta_fits,
    delta_possible,
    tombstones,
)
from rag.index.local.write import DeltaContent, write_delta_version
from rag.index.metadata import MetadataStore, article_key
from rag.index.sparse import KEYWORD_FIELDS, TermCounts, term_arrays
from rag.index.store import CURRENT_FORMATS, IndexManifest
from rag.progress import Progress
from rag.records import Article, SourceFile


@dataclass(frozen=True)
class DeltaPlan:
    """Which articles and source records the new delta over ``live_dir``'s base holds,
    what of the base goes, and the old delta's passages an unchanged article keeps."""

    live_dir: Path
    manifest: IndexManifest
    base_rows: int
    articles: list[Article]
    sources: list[SourceFile]
    removed_rows: np.ndarray
    removed_articles: frozenset[str]
    removed_sources: frozenset[str]
    base_signatures: frozenset[str]
    live_parts: LiveVersionParts | None


def plan_delta(
    live_dir: Path,
    manifest: IndexManifest,
    articles: Sequence[Article],
    sources: Sequence[SourceFile],
    chunk_size: int,
) -> DeltaPlan | None:
    """The delta of an update to ``articles`` read from ``sources``, or None when the
    update should write a whole version: a small base, one of an older format, or a
    change that would pass ``MAX_DELTA_SHARE`` even at its fewest passages."""
    plan = _delta_contents(live_dir, manifest, articles, sources)
    if plan is None:
        return None
    # a lower bound of the delta's passages (a passage holds at most chunk_size
    # characters): a change that cannot fit compacts without chunking it twice
    least = 0
    for article in plan.articles:
        kept = plan.live_parts.passages_of(article) if plan.live_parts is not None else None
        least += len(kept) if kept is not None else len(article.text) // chunk_size
    if not delta_fits(plan.base_rows, least, len(plan.removed_rows)):
        return None
    return plan


def _delta_contents(
    live_dir: Path,
    manifest: IndexManifest,
    articles: Sequence[Article],
    sources: Sequence[SourceFile],
) -> DeltaPlan | None:
    """What the delta would hold, or None when the base is too small or of an older format."""
    base_rows = base_passages(manifest)
    if (
        not delta_possible(base_rows)
        or manifest.format_version not in CURRENT_FORMATS
        or manifest.extra.get("keyword_fields") != KEYWORD_FIELDS
        or term_arrays(live_dir) is None
    ):
        return None
    old = delta_dir(live_dir)
    gone = Tombstones.load(old) if old is not None else None
    base = MetadataStore(live_dir / "meta.sqlite")
    try:
        stored = base.article_keys()
        stored_keys = base.source_keys()
        signature_keys = base.signature_keys()
        if gone is not None:
            stored = {k: v for k, v in stored.items() if k not in gone.articles}
            live_keys = {p: k for p, k in stored_keys.items() if p not in gone.sources}
        else:
            live_keys = stored_keys
        staying = {a.id for a in articles if stored.get(a.id) == article_key(a)}
        removed = frozenset(base.article_ids() - staying)
        rows = np.asarray(base.rows_of(removed), dtype=np.int64)
    finally:
        base.close()
    kept = {s.path for s in sources if live_keys.get(s.path) == (s.raw_hash, s.size, s.mtime_ns)}
    return DeltaPlan(
        live_dir=live_dir,
        manifest=manifest,
        base_rows=base_rows,
        articles=[a for a in articles if a.id not in staying],
        sources=[s for s in sources if s.path not in kept],
        removed_rows=rows,
        removed_articles=removed,
        removed_sources=frozenset(stored_keys) - kept,
        base_signatures=signature_keys,
        live_parts=LiveVersionParts.open(old) if old is not None else None,
    )


def write_delta(
    index_dir: Path,
    settings: Settings,
    plan: DeltaPlan,
    *,
    articles: int,
    sources: int,
    signatures: Mapping[str, bytes],
    roots: Sequence[str],
    embedder: Embedder | None,
    progress: Progress,
    part_encoder: Callable[[Embedder], PartEncoder | None] | None = None,
) -> tuple[Path, IndexManifest, Passages] | None:
    """Chunk and embed ``plan``'s articles and publish them as a delta version of
    ``articles`` articles from ``sources`` files; None (nothing written) when their
    passages turn out to pass ``MAX_DELTA_SHARE`` and the update must be a whole version."""
    if plan.articles:
        passages = make_passages(
            plan.articles, settings, plan.live_parts, embedder, progress, part_encoder
        )
    else:  # only removals: nothing to chunk or embed
        passages = Passages(
            [],
            np.zeros((0, plan.manifest.dim), np.float32),
            _no_terms(),
            plan.manifest.embedder,
            0,
        )
    if not delta_fits(plan.base_rows, len(passages.chunks), len(plan.removed_rows)):
        return None
    removed = tombstones(
        plan.live_dir,
        plan.base_rows,
        plan.removed_rows,
        plan.removed_articles,
        plan.removed_sources,
    )
    content = DeltaContent(
        articles=plan.articles,
        chunks=passages.chunks,
        vectors=passages.vectors,
        terms=passages.terms,
        embedder=passages.embedder,
        sources=plan.sources,
        signatures={k: v for k, v in signatures.items() if k not in plan.base_signatures},
    )
    final, written = write_delta_version(
        index_dir,
        plan.live_dir,
        settings,
        content,
        removed,
        articles=articles,
        sources=sources,
        source_roots=roots,
        progress=progress,
    )
    return final, written, passages


def _no_terms() -> TermCounts:
    return TermCounts((), np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
