"""Checksums of the files in a folder: recorded when the folder is written, checked on open.

An index version records one :class:`FileDigest` per file in its manifest; a folder of
derived model files records them in ``checksums.json`` beside the files. A check either
compares sizes only (``quick``: one ``stat`` per file) or reads every byte (``full``:
SHA-256, ~1.7 GB/s on one core of a CPU with SHA extensions, files hashed on two threads).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rag.records import FileProblem

CHECKSUMS_FILE = "checksums.json"
FULL, QUICK, OFF = "full", "quick", "off"


@dataclass(frozen=True)
class FileDigest:
    """A file's size and SHA-256, as recorded when it was written."""

    size: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: object) -> FileDigest:
        if not isinstance(data, dict):
            raise ValueError(f"not a file digest: {data!r}")
        size, digest = data.get("size"), data.get("sha256")
        if not isinstance(size, int) or not isinstance(digest, str) or len(digest) != 64:
            raise ValueError(f"not a file digest: {data!r}")
        return cls(size, digest)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def digest_of(path: Path) -> FileDigest:
    return FileDigest(path.stat().st_size, sha256_of(path))


def files_under(folder: Path, skip: Iterable[str] = ()) -> list[str]:
    """Every regular file below ``folder`` as a relative POSIX path, sorted; ``skip``
    names paths (relative) left out."""
    skipped = set(skip)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            relative = (Path(root) / name).relative_to(folder).as_posix()
            if relative not in skipped:
                found.append(relative)
    return sorted(found)


def record_digests(
    folder: Path,
    skip: Iterable[str] = (),
    known: Mapping[str, FileDigest] | None = None,
    known_folder: Path | None = None,
) -> dict[str, FileDigest]:
    """The digest of every file below ``folder``.

    A file that is a hard link of the same path below ``known_folder`` (a version's base
    shared with the version it came from) takes its digest from ``known`` instead of
    being read again: the caller checked that folder in full first.
    """
    names = files_under(folder, skip)

    def one(name: str) -> FileDigest:
        path = folder / name
        if known and known_folder is not None and name in known:
            try:
                if os.path.samefile(path, known_folder / name):
                    return known[name]
            except OSError:
                pass
        return digest_of(path)

    with ThreadPoolExecutor(2, thread_name_prefix="checksum") as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def check_digests(
    folder: Path, recorded: Mapping[str, FileDigest], level: str = FULL
) -> list[FileProblem]:
    """Files below ``folder`` that differ from ``recorded``: missing or another size
    (``quick`` and ``full``), other bytes (``full``). ``off`` checks nothing."""
    if level == OFF:
        return []
    problems: list[FileProblem] = []
    to_hash: list[str] = []
    for name, digest in sorted(recorded.items()):
        try:
            size = (folder / name).stat().st_size
        except FileNotFoundError:
            problems.append(FileProblem(name, "missing"))
            continue
        except OSError as exc:
            problems.append(FileProblem(name, f"cannot be read ({exc.strerror or exc})"))
            continue
        if size != digest.size:
            problems.append(FileProblem(name, f"{size} bytes where {digest.size} were written"))
        elif level == FULL:
            to_hash.append(name)

    def differs(name: str) -> FileProblem | None:
        try:
            actual = sha256_of(folder / name)
        except OSError as exc:
            return FileProblem(name, f"cannot be read ({exc.strerror or exc})")
        return None if actual == recorded[name].sha256 else FileProblem(name, "bytes changed")

    if to_hash:  # a quick check (every open with index_check = quick) starts no threads
        with ThreadPoolExecutor(2, thread_name_prefix="checksum") as pool:
            problems.extend(p for p in pool.map(differs, to_hash) if p is not None)
    return sorted(problems, key=lambda p: p.path)


def write_checksums_file(folder: Path, names: Iterable[str], keep: bool = False) -> None:
    """Record the digests of ``names`` (relative to ``folder``) in its ``checksums.json``,
    replaced atomically; ``keep`` keeps the records of other files already there."""
    digests = dict(read_checksums_file(folder) or {}) if keep else {}
    digests.update({name: digest_of(folder / name) for name in names})
    text = json.dumps({k: v.to_json() for k, v in sorted(digests.items())}, indent=1)
    fd, tmp = tempfile.mkstemp(prefix=".checksums.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / CHECKSUMS_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_checksums_file(folder: Path) -> dict[str, FileDigest] | None:
    """The digests ``folder``'s ``checksums.json`` records; None when there is none or
    it cannot be read (a folder written before checksums, or a damaged record)."""
    try:
        data = json.loads((folder / CHECKSUMS_FILE).read_text(encoding="utf-8"))
        return {str(k): FileDigest.from_json(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return None


def folder_intact(folder: Path, level: str = FULL) -> bool:
    """Whether ``folder`` has a checksum record and every file matches it."""
    recorded = read_checksums_file(folder)
    return bool(recorded) and not check_digests(folder, recorded or {}, level)
