"""Before a build writes anything it decides what it will write: nothing (an update
that changed nothing), a delta over the live version's base, or a whole new version.

The decision reads the live version and the sources, and runs every guard of the live
index: a run whose inputs are missing, or that would throw away most of what the live
version holds, stops here with an error and no plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from rag.build.delta import DeltaPlan, plan_delta
from rag.build.live import (
    LiveVersion,
    keep_backend,
    read_live_version,
    settings_for_update,
    stored_signatures,
)
from rag.build.sources import ReadResult, absolute, read_sources
from rag.checksums import FULL, OFF
from rag.config import LOCAL, Settings
from rag.embed import Embedder
from rag.errors import (
    IndexCorruptError,
    IndexMissingError,
    NothingToIndexError,
    RemovalRefusedError,
)
from rag.index.local.segments import delta_dir
from rag.index.protocol import backend_of
from rag.index.store import CURRENT_FORMATS
from rag.ingest import merge_duplicates
from rag.ingest.dedup import signature_key
from rag.progress import Progress
from rag.records import Article, SourceFile
from rag.text.paths import display_path

# An update that would drop more than this share of the live articles needs
# allow_removals: a folder emptied by mistake must not empty the index.
MAX_REMOVED_SHARE = 0.5


@dataclass(frozen=True)
class BuildRequest:
    """What the caller asked for: the paths, and how the run treats the live version."""

    paths: Sequence[str]
    update: bool = False
    allow_removals: bool = False
    compact: bool = False


class PlanKind(Enum):
    """What a run writes."""

    NOTHING_TO_DO = "nothing to do"
    DELTA = "delta"
    WHOLE_VERSION = "whole version"


@dataclass(frozen=True)
class BuildPlan:
    """One run's decision, made under the writer lock before anything is written.

    ``NOTHING_TO_DO``: the live version already is the result. ``DELTA``: ``delta`` says
    what changes over the live version's base. ``WHOLE_VERSION``: every article is
    written again, an unchanged one copying its passages from the live version when
    ``reuse_live``. ``settings`` are the run's (an update's are the index's own).
    """

    kind: PlanKind
    index_dir: Path
    settings: Settings
    read: ReadResult
    roots: list[str]
    live: LiveVersion | None
    articles: list[Article] = field(default_factory=list)
    signatures: dict[str, bytes] = field(default_factory=dict)
    reuse_live: bool = False
    delta: DeltaPlan | None = None


def plan_build(
    index_dir: Path,
    settings: Settings,
    request: BuildRequest,
    embedder: Embedder | None,
    progress: Progress,
) -> BuildPlan:
    """Read the live version and the sources under ``request.paths`` and decide the run.

    The caller holds the writer lock. Raises ``IndexMissingError`` or
    ``IndexCorruptError`` when an update finds no readable live version,
    ``NothingToIndexError`` when no article could be read or a rebuild names a missing
    path, and ``RemovalRefusedError`` when an update would drop a whole missing source
    folder or more than half of the files without ``request.allow_removals``.
    """
    # an update copies from the live version: it is checked in full unless checks are off;
    # a rebuild copies nothing from it
    check = OFF if settings.index_check == OFF or not request.update else FULL
    try:
        live = read_live_version(index_dir, check)
    except IndexCorruptError:
        if request.update:
            raise
        live = None  # a rebuild is how a damaged index is repaired
    if not request.update:
        return _plan_rebuild(index_dir, settings, request.paths, live, progress)
    if live is None:
        raise IndexMissingError(
            f"no index at {index_dir} to update; build one with 'rag index build PATH...'"
        )
    return _plan_update(index_dir, settings, request, live, embedder, progress)


def _plan_rebuild(
    index_dir: Path,
    settings: Settings,
    paths: Sequence[str],
    live: LiveVersion | None,
    progress: Progress,
) -> BuildPlan:
    """A whole version of exactly the articles under ``paths``, read afresh; the live
    version only lends its backend."""
    if live is not None:
        _refuse_missing_paths(paths, live)
        settings = keep_backend(settings, live.manifest)
    read = _read(paths, settings, [], live, progress)
    roots = sorted({absolute(p) for p in paths})
    signatures: dict[str, bytes] = {}  # the duplicate check fills it; the version keeps it
    articles = merge_duplicates([s.article for s in read.sources], signatures=signatures)
    return BuildPlan(
        kind=PlanKind.WHOLE_VERSION,
        index_dir=index_dir,
        settings=settings,
        read=read,
        roots=roots,
        live=live,
        articles=articles,
        signatures=_held_signatures(signatures, read),
    )


def _plan_update(
    index_dir: Path,
    settings: Settings,
    request: BuildRequest,
    live: LiveVersion,
    embedder: Embedder | None,
    progress: Progress,
) -> BuildPlan:
    """The live version brought up to date with ``request.paths`` (default: the folders
    it was built from), with the index's own settings: nothing to do, a delta where the
    local backend's base allows one, else a whole version."""
    settings = settings_for_update(settings, live.manifest, embedder)
    paths = [absolute(p) for p in request.paths] or live.roots
    _refuse_missing_roots(paths, request.allow_removals)
    read = _read(paths, settings, live.sources, live, progress)
    if not request.allow_removals:
        _refuse_mass_removal(read, live)
    roots = sorted({absolute(p) for p in paths} | set(live.roots))
    # compacting rewrites a version that has a delta even when nothing changed
    merge = request.compact and delta_dir(live.version_dir) is not None
    if _nothing_changed(read, live, roots) and not merge:
        return BuildPlan(PlanKind.NOTHING_TO_DO, index_dir, settings, read, roots, live)

    # an update reuses the live version's passages, vectors, token counts and
    # signatures (local files only: a Milvus version keeps its vectors in Milvus)
    reusable = backend_of(live.manifest) == LOCAL
    signatures = stored_signatures(live.version_dir) if reusable else {}
    articles = merge_duplicates([s.article for s in read.sources], signatures=signatures)
    delta = None
    if reusable and not request.compact:
        delta = plan_delta(
            live.version_dir, live.manifest, articles, read.sources, settings.chunk_size
        )
    return BuildPlan(
        kind=PlanKind.WHOLE_VERSION if delta is None else PlanKind.DELTA,
        index_dir=index_dir,
        settings=settings,
        read=read,
        roots=roots,
        live=live,
        articles=articles,
        signatures=_held_signatures(signatures, read),
        reuse_live=reusable,
        delta=delta,
    )


def _read(
    paths: Sequence[str],
    settings: Settings,
    previous: Sequence[SourceFile],
    live: LiveVersion | None,
    progress: Progress,
) -> ReadResult:
    """The sources under ``paths``; ``NothingToIndexError`` when no article was read."""
    read = read_sources(
        paths,
        previous,
        int(settings.max_file_mb * 1e6),
        progress,
        follow_symlinks=settings.follow_symlinks,
        max_chars=settings.max_article_chars,
    )
    if not read.sources:
        raise NothingToIndexError(_nothing_read_message(paths, read, live))
    return read


def _held_signatures(signatures: dict[str, bytes], read: ReadResult) -> dict[str, bytes]:
    """Only the signatures of the sources the new version holds are kept."""
    wanted = {signature_key(s.article.text) for s in read.sources}
    return {k: v for k, v in signatures.items() if k in wanted}


def _nothing_changed(read: ReadResult, live: LiveVersion, roots: Sequence[str]) -> bool:
    """Whether the update would write the live version again (same files, same format)."""
    counts = read.counts
    return (
        counts.added == counts.updated == counts.removed == 0
        and live.manifest.format_version in CURRENT_FORMATS
        and sorted(roots) == sorted(live.roots)
    )


def _refuse_missing_roots(paths: Sequence[str], allow_removals: bool) -> None:
    """An update must not drop a source folder that is merely moved or unmounted."""
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
    """Whether ``path`` exists, or as a glob matches anything."""
    if any(c in path for c in "*?["):
        from rag.ingest.discover import glob_paths  # never follows a symlinked folder

        return Path(path).exists() or bool(glob_paths(path))
    return Path(path).exists()


def _refuse_mass_removal(read: ReadResult, live: LiveVersion) -> None:
    """An update must not drop more than ``MAX_REMOVED_SHARE`` of the live files."""
    before = len(live.sources)
    if before and read.counts.removed > before * MAX_REMOVED_SHARE:
        raise RemovalRefusedError(
            f"this update would remove {read.counts.removed} of {before} source files "
            f"(more than {MAX_REMOVED_SHARE:.0%}); nothing was changed. If they were "
            "deleted on purpose, run again with --allow-removals"
        )


def _nothing_read_message(paths: Sequence[str], read: ReadResult, live: LiveVersion | None) -> str:
    """Why no article could be read, and that the live version (if any) stays."""
    kept = f"; the live index ({live.manifest.articles} articles) is unchanged" if live else ""
    if not paths:
        return f"no paths given{kept}"
    if read.failures:
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in read.failures[:3])
        more = f" (and {len(read.failures) - 3} more)" if len(read.failures) > 3 else ""
        return f"no article could be read: {reasons}{more}{kept}"
    return f"no article found under {', '.join(display_path(p) for p in paths)}{kept}"
