"""Find the source files behind the paths, folders and glob patterns a user gave."""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Sequence
from pathlib import Path

from rag.records import IngestFailure
from rag.text.paths import display_path

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
            # realpath, not Path.resolve(): a symlink loop must not end the run (resolve
            # raises RuntimeError for one); reading the file then reports it
            key = Path(os.path.realpath(candidate))
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


def glob_paths(pattern: str) -> list[str]:
    """The paths ``pattern`` matches, like ``glob.glob(pattern, recursive=True)``, except
    that ``**`` never descends into a symlinked folder.

    glob's ``**`` follows symlinks: two links to a parent folder in an archive make it
    enumerate an exponential number of paths and never return. Wildcards do not match
    names starting with "." (as in glob).
    """
    if "**" not in pattern:
        return glob.glob(pattern)  # one level per wildcard: a link loop cannot recurse
    parts = pattern.split(os.sep)
    first_magic = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    base = os.sep.join(parts[:first_magic]) or (os.sep if pattern.startswith(os.sep) else "")
    wanted = [part for part in parts[first_magic:] if part]
    folders_only = pattern.endswith(os.sep)
    top = base or os.curdir
    if not os.path.isdir(top):
        return []
    found: list[str] = []
    if base and wanted[-1] == "**":
        found.append(os.path.join(base, ""))  # as glob: "dir/**" matches "dir/" itself
    names_hidden = any(part.startswith(".") for part in wanted)
    for root, dirs, names in os.walk(top):  # followlinks=False: links are listed, not entered
        dirs[:] = sorted(d for d in dirs if names_hidden or not d.startswith("."))
        rel = os.path.relpath(root, top)
        prefix = [] if rel == os.curdir else rel.split(os.sep)
        for name in dirs if folders_only else [*dirs, *sorted(names)]:
            if _matches([*prefix, name], wanted):
                path = os.path.join(base, *prefix, name)
                found.append(os.path.join(path, "") if folders_only else path)
    return found


def _matches(names: list[str], wanted: list[str]) -> bool:
    """Whether a relative path's ``names`` match the pattern components ``wanted``."""
    if not wanted:
        return not names
    if wanted[0] == "**":  # any number of folders, none of them hidden
        visible = next((i for i, name in enumerate(names) if name.startswith(".")), len(names))
        return any(_matches(names[i:], wanted[1:]) for i in range(visible + 1))
    if not names or (names[0].startswith(".") and not wanted[0].startswith(".")):
        return False
    return fnmatch.fnmatchcase(names[0], wanted[0]) and _matches(names[1:], wanted[1:])


def _expand_glob(pattern: str) -> list[Path]:
    # glob's wildcards never match names starting with "." so hidden entries stay out.
    matches = (Path(match) for match in glob_paths(pattern))
    files: list[Path] = []
    for match in sorted(matches):
        if match.is_dir():
            files.extend(_walk_folder(match))
        elif match.is_file() and _is_source(match):
            files.append(match)
    return files
