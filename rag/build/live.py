"""What a build reads from the live version before it decides anything: its manifest,
its source records and roots (made absolute), the settings an update must keep, and
its MinHash signatures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rag.build.sources import absolute
from rag.checksums import FULL
from rag.config import Settings
from rag.embed import Embedder, embedder_name
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexMissingError
from rag.index.integrity import check_version
from rag.index.local.segment_reads import open_metadata
from rag.index.protocol import backend_of
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.records import SourceFile


@dataclass(frozen=True)
class LiveVersion:
    """What the live version holds, with its paths made absolute."""

    version_dir: Path
    manifest: IndexManifest
    sources: list[SourceFile]
    roots: list[str]


def read_live_version(index_dir: Path, check: str = FULL) -> LiveVersion | None:
    """The live version of ``index_dir``, or None when there is none.

    Raises ``IndexCorruptError`` when its metadata cannot be read or a file differs from
    its checksum (``check``: full, quick or off): an update copies passages, vectors and
    token counts from it, and must not carry damage into the next version.
    """
    try:
        version = current_version_dir(index_dir)
    except IndexMissingError:
        return None
    manifest = IndexManifest.from_file(version / MANIFEST)
    check_version(
        version,
        manifest,
        check,
        advice="an update copies from it, so rebuild it with rag index build PATH...",
    )
    try:
        store = open_metadata(version)
        try:
            sources = store.sources()
        finally:
            store.close()
    except Exception as exc:  # sqlite3.DatabaseError and friends: the version is damaged
        raise IndexCorruptError(
            f"cannot read {version}/meta.sqlite ({exc}); rebuild the index"
        ) from None
    base = _legacy_base(manifest, index_dir)
    return LiveVersion(
        version_dir=version,
        manifest=manifest,
        sources=[replace(s, path=absolute(s.path, base)) for s in sources],
        roots=[absolute(r, base) for r in manifest.source_roots],
    )


def _legacy_base(manifest: IndexManifest, index_dir: Path) -> Path:
    """The directory relative source paths are relative to.

    From format 2 on, paths are stored absolute and the build's working directory is
    recorded. A format-1 index stored paths as given: find the directory from which
    every recorded root exists, trying the working directory, then the folders above
    the index (``rag index build corpus --index indexes/x`` run from the project).
    """
    if manifest.build_cwd:
        return Path(manifest.build_cwd)
    relative = [r for r in manifest.source_roots if not Path(r).is_absolute()]
    candidates = [Path.cwd(), *Path(absolute(index_dir)).parents]
    for candidate in candidates:
        if all((candidate / r).exists() for r in relative):
            return candidate
    return Path.cwd()


def settings_for_update(
    settings: Settings, manifest: IndexManifest, embedder: Embedder | None = None
) -> Settings:
    """An update keeps the index's embedder, chunking, tokenizer, index kind and backend.

    An embedder the user set explicitly (flag, environment or file) that differs from
    the index's is an error: mixing two models' vectors in one index would be silent
    garbage.
    """
    wanted = embedder.name if embedder is not None else embedder_name(settings.embedder)
    if wanted != manifest.embedder and (embedder is not None or settings.was_set("embedder")):
        raise EmbedderMismatchError(
            f"{settings.index_dir} was built with {manifest.embedder}, but "
            f"{settings.embedder} is set ({settings.origin('embedder')}). Unset it, or rebuild "
            "with 'rag index build' to switch models"
        )
    return settings.with_overrides(
        "the index manifest",
        embedder=manifest.embedder,  # the recorded name is itself a valid spec
        chunk_size=manifest.chunk_size,
        chunk_overlap=manifest.chunk_overlap,
        tokenizer=manifest.tokenizer,
        index_kind=manifest.extra.get("index_kind_setting", manifest.index_kind),
        backend=backend_of(manifest),
        milvus_uri=manifest.extra.get("milvus_uri"),
    )


def keep_backend(settings: Settings, manifest: IndexManifest) -> Settings:
    """A rebuild stays on the live index's backend unless one is set explicitly."""
    if settings.was_set("backend") or "backend" not in manifest.extra:
        return settings
    uri = None if settings.was_set("milvus_uri") else manifest.extra.get("milvus_uri")
    return settings.with_overrides(
        "the index manifest", backend=manifest.extra["backend"], milvus_uri=uri
    )


def stored_signatures(version_dir: Path) -> dict[str, bytes]:
    """The live version's MinHash signatures (the duplicate check hashes only new texts)."""
    store = open_metadata(version_dir)
    try:
        return store.signatures()
    finally:
        store.close()
