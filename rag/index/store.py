"""On-disk layout of an index: immutable versions, an atomic CURRENT pointer, a writer lock.

    indexes/<name>/
      CURRENT                 name of the live version (replaced atomically)
      versions/<version>/     manifest.json, dense.faiss, meta.sqlite, bm25/
      cache/embeddings.sqlite embedding cache shared by all versions
      .lock                   held by the one process writing

A writer builds a complete new version in a temporary directory, fsyncs it, renames it
into ``versions/`` and only then swaps ``CURRENT``. Readers resolve ``CURRENT`` once and
read only that version, so they see the old index or the new one, never a mix. A writer
killed at any point leaves at most a ``tmp-*`` directory, removed by the next writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.checksums import FileDigest, record_digests
from rag.errors import IndexCorruptError, IndexLockedError, IndexMissingError, IndexWriteError
from rag.locks import take

# 2: source paths are stored absolute and the manifest records build_cwd. Version 1
# indexes (relative paths) are read, and migrated by their next update.
# 4: the manifest records the size and SHA-256 of every file of the version (``files``).
# Versions 2 and 3 are read (nothing to check them against) and migrated by the next update.
FORMAT_VERSION = 4
# 3, then 5 with checksums: the version holds a delta beside its base
# (rag.index.local.segments). Tools that know only 2 and 3 refuse 4 and 5 with a message
# saying to upgrade, instead of misreading them.
DELTA_FORMAT_VERSION = 5
# what this tool writes: a version of another format is migrated by the next update
CURRENT_FORMATS = (FORMAT_VERSION, DELTA_FORMAT_VERSION)
CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
KEEP_OLD_VERSIONS = 1  # readers that resolved the previous version can finish


@dataclass(frozen=True)
class IndexManifest:
    """What an index version holds and how it was built (``manifest.json``)."""

    format_version: int
    embedder: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    tokenizer: str
    index_kind: str
    articles: int
    passages: int
    sources: int
    built_at: str
    source_roots: tuple[str, ...] = ()
    # the working directory of the build: relative paths of version-1 indexes resolve here
    build_cwd: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # every other file of the version (relative path: size and SHA-256), recorded when it
    # was published; empty in versions written before checksums (format 2 and 3)
    files: dict[str, FileDigest] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["source_roots"] = list(self.source_roots)
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_file(cls, path: Path) -> IndexManifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorruptError(
                f"index version {path.parent} has no manifest.json; rebuild with 'rag index build'"
            ) from None
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"cannot read {path}: {exc}; rebuild the index") from None
        version = data.get("format_version") if isinstance(data, dict) else None
        if not isinstance(version, int):
            raise IndexCorruptError(f"{path} is not an index manifest; rebuild the index")
        if version > DELTA_FORMAT_VERSION:
            raise IndexCorruptError(
                f"index at {path.parent} has format version {version}, newer than this "
                f"tool's {DELTA_FORMAT_VERSION}; upgrade rag or rebuild the index"
            )
        try:
            data["source_roots"] = tuple(data.get("source_roots", ()))
            data["files"] = {
                str(name): FileDigest.from_json(digest)
                for name, digest in (data.get("files") or {}).items()
            }
            return cls(**data)
        except (TypeError, ValueError, AttributeError) as exc:
            raise IndexCorruptError(f"{path} is damaged ({exc}); rebuild the index") from None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush every file and directory under ``path`` to disk."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def current_version_dir(index_dir: Path) -> Path:
    """The directory of the live version; clear errors when there is none or it is damaged."""
    pointer = index_dir / CURRENT
    if index_dir.is_file():
        raise IndexMissingError(f"{index_dir} is a file, not an index folder")
    if not pointer.exists():
        versions = index_dir / VERSIONS
        published = versions.is_dir() and any(p.name.startswith("v-") for p in versions.iterdir())
        if not published:
            # nothing was ever published here (a first build that failed or was killed
            # leaves only its lock and embedding cache): there is no index yet
            raise IndexMissingError(
                f"no index at {index_dir} yet; build one with 'rag index build PATH...'"
            )
        raise IndexCorruptError(
            f"{index_dir} is not an index (no CURRENT file); rebuild with 'rag index build'"
        )
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}") from None
    version = index_dir / VERSIONS / name
    if not name or "/" in name or not version.is_dir():
        raise IndexCorruptError(
            f"{pointer} names a missing version {name!r}; rebuild with 'rag index build'"
        )
    return version


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the index's writer lock; a second writer waits up to ``wait_seconds``, then fails.

    A first build that fails before publishing anything leaves no folder behind: the
    folder it created is removed again when it holds nothing but the lock and empty
    folders (an embedding cache with vectors in it is kept for the next try).
    """
    # the topmost folder this call creates (None: the index folder exists already)
    created = next((p for p in [*reversed(index_dir.parents), index_dir] if not p.exists()), None)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "a+")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        reason = "it is a file" if index_dir.is_file() else (exc.strerror or str(exc))
        raise IndexWriteError(f"cannot write an index at {index_dir}: {reason}") from None
    try:
        # The library is reached from commands with and without --wait (a feed pull
        # updates the index too), so the flag is named with the commands that have it.
        take(
            handle,
            wait_seconds,
            lambda who: IndexLockedError(
                f"another process{who} is writing {index_dir}; try again when it has "
                "finished ('rag index build' and 'rag index update' can wait for it: "
                "--wait SECONDS)"
            ),
            poll=0.2,
        )
        yield
    finally:
        if created is not None and not (index_dir / CURRENT).exists():
            _remove_if_empty(index_dir, created)
        handle.close()  # closing releases the flock, also when the process dies


def _remove_if_empty(index_dir: Path, created: Path) -> None:
    """Remove ``index_dir``, and the folders above it up to ``created``, if nothing but
    the lock file and empty folders are in it."""
    leftovers = [p for p in index_dir.rglob("*") if not p.is_dir() and p.name != ".lock"]
    if leftovers:
        return
    with contextlib.suppress(OSError):
        (index_dir / ".lock").unlink()  # while held: a writer waiting on it opens a new one
        for folder in sorted(index_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            folder.rmdir()
        for folder in [index_dir, *index_dir.parents]:
            folder.rmdir()
            if folder == created:
                break


def new_staging_dir(index_dir: Path) -> Path:
    staging = index_dir / VERSIONS / f"tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    return staging


def publish_version(
    index_dir: Path, staging: Path, base: Path | None = None
) -> tuple[Path, IndexManifest]:
    """Make a fully written staging directory the live version (the commit point).

    The manifest gets the size and SHA-256 of every other file first. Files hard-linked
    from ``base`` (an update's live version, checked in full before it was copied from)
    take the digests ``base``'s manifest records instead of being read again.
    """
    manifest_path = staging / MANIFEST
    manifest = IndexManifest.from_file(manifest_path)
    known = None
    if base is not None:
        known = IndexManifest.from_file(base / MANIFEST).files
    files = record_digests(staging, skip=(MANIFEST,), known=known, known_folder=base)
    manifest = replace(manifest, files=files)
    manifest_path.write_text(manifest.to_json(), encoding="utf-8")
    fsync_tree(staging)
    # microseconds: names sort in publication order (garbage collection keeps the newest
    # old version), also for two versions published within one second. Names from before
    # (seconds only) sort before any later name of the same second: "-" < "0".
    name = "v-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]
    final = staging.parent / name
    os.rename(staging, final)
    fsync_dir(final.parent)
    write_text_atomic(index_dir / CURRENT, name + "\n")
    return final, manifest


def collect_garbage(index_dir: Path) -> None:
    """Remove crashed staging dirs and all but the newest old versions (writer lock held)."""
    versions = index_dir / VERSIONS
    if not versions.is_dir():
        return
    try:
        live = current_version_dir(index_dir).name
    except (IndexMissingError, IndexCorruptError):
        live = None
    old = sorted(
        (p for p in versions.iterdir() if p.name.startswith("v-") and p.name != live),
        key=lambda p: p.name,
    )
    doomed = [p for p in versions.iterdir() if p.name.startswith("tmp-")]
    # a writer killed inside write_text_atomic leaves its temporary pointer file
    for stale in index_dir.glob(f".{CURRENT}.*.tmp"):
        stale.unlink(missing_ok=True)
    doomed += old[: max(0, len(old) - KEEP_OLD_VERSIONS)]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
