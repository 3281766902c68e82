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


def discover_sources(
    paths: Sequence[str], *, follow_symlinks: bool = False
) -> tuple[list[Path], list[IngestFailure]]:
    """Expand files, folders (recursively) and glob patterns into source files.

    Returns the files in a stable order (each argument's matches sorted, arguments in
    the order given, no path twice) and one ``IngestFailure`` per argument that names
    nothing: a missing path, a glob that matches no source file, a file with an
    extension we do not read. Hidden files and folders are skipped inside folders and
    globs, never when named explicitly.

    A symlink found inside a folder or by a glob whose target resolves outside every
    folder named (folders, and each glob's folder before its first wildcard) is skipped
    with an ``IngestFailure`` naming the link and its target, unless ``follow_symlinks``:
    a link to /etc/passwd dropped into an archive must not make it searchable. A path
    named directly is used as it is, link or not: the user chose it.
    """
    finder = _Finder(named_folders(paths), follow_symlinks)
    found: list[Path] = []
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
                finder.failures.append(
                    IngestFailure(
                        display_path(path), f"unsupported file type '{path.suffix or '(none)'}'"
                    )
                )
        elif path.is_dir():
            matches = finder.walk_folder(path)
            if not matches:
                finder.failures.append(
                    IngestFailure(
                        display_path(path), "folder contains no .txt/.html/.htm/.md files"
                    )
                )
            add(matches)
        elif _GLOB_CHARS & set(raw):
            matches = finder.expand_glob(raw)
            if not matches:
                finder.failures.append(
                    IngestFailure(display_path(path), "pattern matches no source files")
                )
            add(matches)
        else:
            finder.failures.append(IngestFailure(display_path(path), "no such file or folder"))
    return found, finder.failures


def named_folders(paths: Sequence[str], *, resolved: bool = True) -> list[Path]:
    """The folders ``paths`` name: each folder, and each glob's folder before its first
    wildcard (the working directory for a pattern that starts with one); symlinks in
    them resolved, or with ``resolved=False`` absolute as written."""
    written: list[str] = []
    for raw in paths:
        if Path(raw).is_dir():
            written.append(raw)
        elif _GLOB_CHARS & set(raw) and not Path(raw).is_file():
            written.append(_glob_base(raw) or os.curdir)
    if resolved:
        return [Path(os.path.realpath(folder)) for folder in written]
    return [Path(os.path.abspath(folder)) for folder in written]


def link_outside(path: str | Path, folders: Sequence[Path]) -> str | None:
    """The resolved target of ``path`` when it lies outside every one of ``folders`` (it
    is, or sits in, a symlink leading out of them); None when it stays inside."""
    target = os.path.realpath(path)
    if any(Path(target).is_relative_to(folder) for folder in folders):
        return None
    return target


def _glob_base(pattern: str) -> str:
    """The folder part of ``pattern`` before its first wildcard ("" when it starts with one)."""
    parts = pattern.split(os.sep)
    first_magic = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    return os.sep.join(parts[:first_magic]) or (os.sep if pattern.startswith(os.sep) else "")


def _is_source(path: Path) -> bool:
    return path.suffix.lower() in SOURCE_EXTENSIONS and not path.name.startswith(".")


class _Finder:
    """Walks folders and globs, skipping (or, told to, following) links that lead outside
    the named folders; ``failures`` collects what was skipped."""

    def __init__(self, folders: list[Path], follow_symlinks: bool) -> None:
        self.folders = folders
        self.follow_symlinks = follow_symlinks
        self.failures: list[IngestFailure] = []
        self._walked: set[str] = set()  # resolved folders entered through a followed link

    def _leads_out(self, path: Path) -> bool:
        """Whether ``path`` leads outside the named folders and is to be skipped."""
        if self.follow_symlinks:
            return False
        target = link_outside(path, self.folders)
        if target is None:
            return False
        self.failures.append(
            IngestFailure(
                display_path(path),
                f"symlink to {display_path(target)}, outside the folders named: skipped "
                "(--follow-symlinks reads it)",
            )
        )
        return True

    def walk_folder(self, folder: Path) -> list[Path]:
        files: list[Path] = []
        followed: list[Path] = []
        for root, dirs, names in os.walk(folder):  # links to folders are listed, not entered
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in dirs:
                link = Path(root, name)
                if not os.path.islink(link) or link_outside(link, self.folders) is None:
                    continue  # a link inside the named folders adds nothing to walk
                if not self._leads_out(link):
                    followed.append(link)
            for name in sorted(names):
                path = Path(root, name)
                if _is_source(path) and not self._leads_out(path):
                    files.append(path)
        for link in followed:
            target = os.path.realpath(link)
            if target not in self._walked:  # two links to one folder, or a loop of links
                self._walked.add(target)
                files.extend(self.walk_folder(link))
        return files

    def expand_glob(self, pattern: str) -> list[Path]:
        # glob's wildcards never match names starting with "." so hidden entries stay out.
        files: list[Path] = []
        for match in sorted(Path(m) for m in glob_paths(pattern)):
            if match.is_dir():
                if not self._leads_out(match):
                    files.extend(self.walk_folder(match))
            elif match.is_file() and _is_source(match) and not self._leads_out(match):
                files.append(match)
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
    base = _glob_base(pattern)
    parts = pattern.split(os.sep)
    first_magic = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
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
