"""Find the source files behind the paths, folders and glob patterns a user gave."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from rag.paths import display_path
from rag.records import IngestFailure

SOURCE_EXTENSIONS = frozenset({".txt", ".html", ".htm", ".md", ".markdown"})

_GLOB_CHARS = frozenset("*?[")


def discover_sources(paths: Sequence[str]) -> tuple[list[Path], list[IngestFailure]]:
    """Expand files, folders (recursively) and glob patterns into source files.

    Returns the files in a stable order (each argument's matches sorted, arguments in
    the order given, no path twice) and one ``IngestFailure`` per argument that names
    nothing: a missing path, a glob that matches no source file, a file with an
    extension we do not read. Hidden files and folders are skipped inside folders and
    globs, never when named explicitly.
    """
    found: list[Path] = []
    failures: list[IngestFailure] = []
    seen: set[Path] = set()

    def add(candidates: list[Path]) -> None:
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)

    for raw in paths:
        path = Path(raw)
        if path.is_file():
            if path.suffix.lower() in SOURCE_EXTENSIONS:
                add([path])
            else:
                failures.append(
                    IngestFailure(
                        display_path(path), f"unsupported file type '{path.suffix or '(none)'}'"
                    )
                )
        elif path.is_dir():
            matches = _walk_folder(path)
            if not matches:
                failures.append(
                    IngestFailure(
                        display_path(path), "folder contains no .txt/.html/.htm/.md files"
                    )
                )
            add(matches)
        elif _GLOB_CHARS & set(raw):
            matches = _expand_glob(raw)
            if not matches:
                failures.append(
                    IngestFailure(display_path(path), "pattern matches no source files")
                )
            add(matches)
        else:
            failures.append(IngestFailure(display_path(path), "no such file or folder"))
    return found, failures


def _is_source(path: Path) -> bool:
    return path.suffix.lower() in SOURCE_EXTENSIONS and not path.name.startswith(".")


def _walk_folder(folder: Path) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root, name) for name in sorted(names) if _is_source(Path(name)))
    return files


def _expand_glob(pattern: str) -> list[Path]:
    # glob's wildcards never match names starting with "." so hidden entries stay out.
    matches = (Path(match) for match in glob.glob(pattern, recursive=True))
    files: list[Path] = []
    for match in sorted(matches):
        if match.is_dir():
            files.extend(_walk_folder(match))
        elif match.is_file() and _is_source(match):
            files.append(match)
    return files
