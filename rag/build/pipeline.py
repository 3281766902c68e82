"""Build or update an index: read sources → merge duplicates → chunk → embed → store.

Every stage is its own function; this module runs them in order under the writer lock
and guards the live index: a run whose inputs are missing, or that would throw away
most of what the live version holds, stops before writing anything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rag.build.chunking import chunk_article, embedding_text
from rag.build.delta import plan_delta, write_delta
from rag.build.embedding import PartEncoder
from rag.build.live import (
    LiveVersion,
    keep_backend,
    read_live_version,
    settings_for_update,
    stored_signatures,
)
from rag.build.passages import make_passages
from rag.build.sources import ReadResult, absolute, read_sources
from rag.config import LOCAL, Settings
from rag.embed import Embedder
from rag.errors import (
    IndexCorruptError,
    IndexMissingError,
    NothingToIndexError,
    RemovalRefusedError,
)
from rag.index.backend import collect_backend_garbage, write_index_version
from rag.index.local.previous import PreviousVersion
from rag.index.local.segments import delta_dir
from rag.index.protocol import backend_of
from rag.index.store import CURRENT_FORMATS, collect_garbage, writer_lock
from rag.ingest import merge_duplicates
from rag.ingest.dedup import signature_key
from rag.progress import Progress, SilentProgress
from rag.records import Article, BuildReport, Chunk
from rag.text.paths import display_path

# An update that would drop more than this share of the live articles needs
# allow_removals: a folder emptied by mistake must not empty the index.
MAX_REMOVED_SHARE = 0.5


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
    with writer_lock(index_dir, lock_wait):
        collect_garbage(index_dir)
        collect_backend_garbage(index_dir)
        try:
            live = read_live_version(index_dir)
        except IndexCorruptError:
            if update:
                raise
            live = None  # a rebuild is how a damaged index is repaired
        if update and live is None:
            raise IndexMissingError(
                f"no index at {index_dir} to update; build one with 'rag index build PATH...'"
            )
        if update and live is not None:
            settings = settings_for_update(settings, live.manifest, embedder)
            paths = [absolute(p) for p in paths] or live.roots
            _refuse_missing_roots(paths, allow_removals)
        elif live is not None:
            _refuse_missing_paths(paths, live)
            settings = keep_backend(settings, live.manifest)
        previous = live.sources if update and live is not None else []

        read = read_sources(paths, previous, int(settings.max_file_mb * 1e6), progress)
        if not read.sources:
            raise NothingToIndexError(_nothing_read_message(paths, read, index_dir, live))
        if update and live is not None and not allow_removals:
            _refuse_mass_removal(read, live)
        roots = sorted({absolute(p) for p in paths} | set(live.roots if live and update else ()))
        merge = compact and live is not None and delta_dir(live.version_dir) is not None
        if update and live is not None and _nothing_changed(read, live, roots) and not merge:
            return _report(index_dir, live.version_dir.name, live, read, started, None)

        # an update reuses the live version's passages, vectors and token counts (local
        # files only: a Milvus version keeps its vectors in Milvus)
        reusable = update and live is not None and backend_of(live.manifest) == LOCAL
        signatures = stored_signatures(live.version_dir) if reusable and live else {}
        articles = merge_duplicates([s.article for s in read.sources], signatures=signatures)
        # only the signatures of the sources this version holds are kept
        wanted = {signature_key(s.article.text) for s in read.sources}
        signatures = {k: v for k, v in signatures.items() if k in wanted}
        if reusable and live is not None and not compact:
            plan = plan_delta(
                live.version_dir, live.manifest, articles, read.sources, settings.chunk_size
            )
            delta = None
            if plan is not None:
                delta = write_delta(
                    index_dir,
                    settings,
                    plan,
                    articles=len(articles),
                    sources=len(read.sources),
                    signatures=signatures,
                    roots=roots,
                    embedder=embedder,
                    progress=progress,
                    part_encoder=lambda e: _part_encoder(settings, e),
                )
            if delta is not None:
                final, manifest, fresh = delta
                collect_garbage(index_dir)
                written = (manifest.articles, manifest.passages, fresh.embedded)
                return _report(index_dir, final.name, live, read, started, written)
        reuse = PreviousVersion.open(live.version_dir) if reusable and live else None
        passages = make_passages(
            articles,
            settings,
            reuse,
            embedder,
            progress,
            part_encoder=lambda e: _part_encoder(settings, e),
        )
        final, _ = write_index_version(
            index_dir,
            settings,
            articles,
            passages.chunks,
            passages.vectors,
            embedder=passages.embedder,
            sources=read.sources,
            source_roots=roots,
            progress=progress,
            terms=passages.terms,
            signatures=signatures,
            base=reuse.version_dir if reuse else None,
        )
        collect_garbage(index_dir)
        collect_backend_garbage(index_dir)
    written = (len(articles), len(passages.chunks), passages.embedded)
    return _report(index_dir, final.name, live, read, started, written)


def _report(
    index_dir: Path,
    version: str,
    live: LiveVersion | None,
    read: ReadResult,
    started: float,
    written: tuple[int, int, int] | None,
) -> BuildReport:
    """``written``: the new version's articles, passages and texts embedded (None when
    nothing changed and the live version is the result)."""
    if written is None:
        assert live is not None
        articles, passages, embedded = live.manifest.articles, live.manifest.passages, 0
    else:
        articles, passages, embedded = written
    counts = read.counts
    return BuildReport(
        index_dir=str(index_dir),
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


def _nothing_changed(read: ReadResult, live: LiveVersion, roots: Sequence[str]) -> bool:
    """Whether the update would write the live version again (same files, same format)."""
    counts = read.counts
    return (
        counts.added == counts.updated == counts.removed == 0
        and live.manifest.format_version in CURRENT_FORMATS
        and sorted(roots) == sorted(live.roots)
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


def _refuse_missing_roots(paths: Sequence[str], allow_removals: bool) -> None:
    missing = [p for p in paths if not _exists(p)]
    if missing and not allow_removals:
        shown = ", ".join(display_path(p) for p in missing)
        raise RemovalRefusedError(
            f"source folder {shown} is missing (moved, unmounted or renamed?); nothing was "
            "changed. Pass the new location, or --allow-removals to drop its articles"
        )


def _refuse_missing_paths(paths: Sequence[str], live: LiveVersion) -> None:
    """A rebuild over a live index must not quietly leave out a mistyped path."""
    missing = [p for p in paths if not _exists(absolute(p))]
    if missing:
        shown = ", ".join(display_path(p) for p in missing)
        raise NothingToIndexError(
            f"{shown}: no such file or folder; the live index ({live.manifest.articles} "
            "articles) was not replaced. Fix the path and run again"
        )


def _exists(path: str) -> bool:
    if any(c in path for c in "*?["):
        from rag.ingest.discover import glob_paths  # never follows a symlinked folder

        return Path(path).exists() or bool(glob_paths(path))
    return Path(path).exists()


def _refuse_mass_removal(read: ReadResult, live: LiveVersion) -> None:
    before = len(live.sources)
    if before and read.counts.removed > before * MAX_REMOVED_SHARE:
        raise RemovalRefusedError(
            f"this update would remove {read.counts.removed} of {before} source files "
            f"(more than {MAX_REMOVED_SHARE:.0%}); nothing was changed. If they were "
            "deleted on purpose, run again with --allow-removals"
        )


def _nothing_read_message(
    paths: Sequence[str], read: ReadResult, index_dir: Path, live: LiveVersion | None
) -> str:
    kept = f"; the live index ({live.manifest.articles} articles) is unchanged" if live else ""
    if not paths:
        return f"no paths given{kept}"
    if read.failures:
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in read.failures[:3])
        more = f" (and {len(read.failures) - 3} more)" if len(read.failures) > 3 else ""
        return f"no article could be read: {reasons}{more}{kept}"
    return f"no article found under {', '.join(display_path(p) for p in paths)}{kept}"
