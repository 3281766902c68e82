"""Build or update an index: read sources → merge duplicates → chunk → embed → store.

Under the writer lock a run first decides what it will write (``rag.build.plan``:
nothing, a delta over the live version's base, or a whole version), then carries out
that one plan here. The previous version stays live until the new one is published.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.build.chunking import chunk_article, embedding_text
from rag.build.delta import write_delta
from rag.build.embedding import PartEncoder
from rag.build.passages import make_passages
from rag.build.plan import BuildPlan, BuildRequest, PlanKind, plan_build
from rag.config import Settings
from rag.embed import Embedder
from rag.index.backend import collect_backend_garbage, write_index_version
from rag.index.local.live_parts import LiveVersionParts
from rag.index.store import collect_garbage, writer_lock
from rag.progress import Progress, SilentProgress
from rag.records import Article, BuildReport, Chunk


@dataclass(frozen=True)
class Written:
    """The version a run published, and its articles, passages and texts embedded."""

    version: str
    articles: int
    passages: int
    embedded: int


def build_index(
    paths: Sequence[str],
    settings: Settings,
    *,
    update: bool = False,
    allow_removals: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    lock_wait: float = 0.0,
    compact: bool = False,
) -> BuildReport:
    """Index the articles under ``paths`` into ``settings.index_dir`` as a new version.

    ``update=False`` indexes exactly ``paths``. ``update=True`` starts from the live
    version (``paths`` default to the folders it was built from): unchanged files are
    not re-read, changed and new files are, files that are gone are dropped. Bad files
    are reported through ``progress.warn`` and never stop the run. The previous version
    stays live until the new one is completely written. An update that finds nothing
    changed publishes nothing (``report.published`` is False); one that does copies the
    passages, vectors and token counts of unchanged articles from the live version.
    An update over a large live version writes a delta (``rag.index.local.segments``);
    ``compact`` makes it write one whole version instead, also when nothing changed.

    Raises ``NothingToIndexError`` when no article could be read (nothing is written),
    ``RemovalRefusedError`` when an update would drop a whole missing source folder or
    more than half of the articles and ``allow_removals`` is False.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    index_dir = Path(settings.index_dir)
    request = BuildRequest(paths, update=update, allow_removals=allow_removals, compact=compact)
    with writer_lock(index_dir, lock_wait):
        collect_garbage(index_dir)
        collect_backend_garbage(index_dir)
        plan = plan_build(index_dir, settings, request, embedder, progress)
        written = execute_plan(plan, embedder, progress)
    return _report(plan, written, started)


def execute_plan(plan: BuildPlan, embedder: Embedder | None, progress: Progress) -> Written | None:
    """Carry out ``plan`` (the caller holds the writer lock): what it published, or None
    when the live version is the result."""
    if plan.kind is PlanKind.NOTHING_TO_DO:
        return None
    if plan.kind is PlanKind.DELTA:
        written = _publish_delta(plan, embedder, progress)
        if written is not None:
            return written
        # its passages outgrew a delta once chunked: the update compacts instead
    return _publish_whole_version(plan, embedder, progress)


def _publish_delta(
    plan: BuildPlan, embedder: Embedder | None, progress: Progress
) -> Written | None:
    """Publish ``plan.delta`` as a delta version over the live base; None, with nothing
    written, when its passages pass the delta's share."""
    assert plan.delta is not None
    delta = write_delta(
        plan.index_dir,
        plan.settings,
        plan.delta,
        articles=len(plan.articles),
        sources=len(plan.read.sources),
        signatures=plan.signatures,
        roots=plan.roots,
        embedder=embedder,
        progress=progress,
        part_encoder=lambda e: _part_encoder(plan.settings, e),
    )
    if delta is None:
        return None
    final, manifest, passages = delta
    collect_garbage(plan.index_dir)
    return Written(final.name, manifest.articles, manifest.passages, passages.embedded)


def _publish_whole_version(
    plan: BuildPlan, embedder: Embedder | None, progress: Progress
) -> Written:
    """Chunk, embed and publish every article of ``plan`` as one version (unchanged ones
    copied from the live version when ``plan.reuse_live``), then drop old versions."""
    reuse = None
    if plan.reuse_live and plan.live is not None:
        reuse = LiveVersionParts.open(plan.live.version_dir)
    passages = make_passages(
        plan.articles,
        plan.settings,
        reuse,
        embedder,
        progress,
        part_encoder=lambda e: _part_encoder(plan.settings, e),
    )
    final, _ = write_index_version(
        plan.index_dir,
        plan.settings,
        plan.articles,
        passages.chunks,
        passages.vectors,
        embedder=passages.embedder,
        sources=plan.read.sources,
        source_roots=plan.roots,
        progress=progress,
        terms=passages.terms,
        signatures=plan.signatures,
        base=reuse.version_dir if reuse else None,
    )
    collect_garbage(plan.index_dir)
    collect_backend_garbage(plan.index_dir)
    return Written(final.name, len(plan.articles), len(passages.chunks), passages.embedded)


def _report(plan: BuildPlan, written: Written | None, started: float) -> BuildReport:
    """The run's report; with nothing ``written`` the live version is the result."""
    if written is None:
        assert plan.live is not None
        version = plan.live.version_dir.name
        articles, passages, embedded = plan.live.manifest.articles, plan.live.manifest.passages, 0
    else:
        version = written.version
        articles, passages, embedded = written.articles, written.passages, written.embedded
    read, live = plan.read, plan.live
    counts = read.counts
    return BuildReport(
        index_dir=str(plan.index_dir),
        version=version,
        articles=articles,
        passages=passages,
        added=counts.added,
        updated=counts.updated,
        removed=counts.removed,
        unchanged=counts.unchanged,
        failed=sum(1 for f in read.failures if f.skipped),
        duplicates_merged=len(read.sources) - articles,
        embedded=embedded,
        reused_embeddings=passages - embedded,
        seconds=time.monotonic() - started,
        previous_articles=live.manifest.articles if live else 0,
        failures=tuple(read.failures),
        published=written is not None,
    )


def _part_encoder(settings: Settings, embedder: Embedder) -> PartEncoder | None:
    """Ray's, when ``settings.ray_address`` asks for it (imported only then); else local."""
    if not settings.ray_address:
        return None
    from rag.build.ray_embedding import ray_part_encoder

    return ray_part_encoder(settings, embedder)


def chunk_articles(
    articles: Sequence[Article], settings: Settings
) -> tuple[list[Chunk], list[str]]:
    """Every article's passages, and the text the embedder sees for each."""
    chunks: list[Chunk] = []
    texts: list[str] = []
    for article in articles:
        for chunk in chunk_article(article, settings.chunk_size, settings.chunk_overlap):
            chunks.append(chunk)
            texts.append(embedding_text(article.title, chunk.text))
    return chunks, texts
