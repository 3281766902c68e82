"""Stage 1 of a build: find the source files and read each into an article, reusing the
previous version's parse of every file whose bytes did not change."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.errors import IngestError
from rag.ingest import discover_sources, parse_article, read_source
from rag.ingest.discover import link_outside, named_folders
from rag.progress import Progress
from rag.records import IngestFailure, SourceFile
from rag.text.paths import display_path

# A file modified less than this long before it was hashed may change again within the
# same mtime tick without its size changing: its stat is not trusted next time (git's
# "racily clean" rule).
RACY_SECONDS = 2.0


def absolute(path: str | Path, base: Path | None = None) -> str:
    """``path`` made absolute (against ``base`` or the working directory), symlinks kept."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    return os.path.normpath(p)


@dataclass
class ReadCounts:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass
class ReadResult:
    """What reading the sources produced: the files in order, their counts and problems."""

    sources: list[SourceFile]
    counts: ReadCounts
    failures: list[IngestFailure] = field(default_factory=list)


def read_sources(
    paths: Sequence[str],
    previous: Sequence[SourceFile],
    max_bytes: int,
    progress: Progress,
    *,
    follow_symlinks: bool = False,
    max_chars: int | None = None,
) -> ReadResult:
    """Read every source file under ``paths``.

    A file whose size and mtime match its ``previous`` record is not read at all; one
    whose bytes match it is not parsed again; a file that fails keeps its previous
    record (the last good copy) when it has one. A previous file not under ``paths`` is
    kept while it exists and counted removed when it is gone. A symlink leading outside
    the folders named is skipped and its previous record dropped, unless
    ``follow_symlinks`` (see ``discover_sources``). An article whose text is longer than
    ``max_chars`` fails like an unreadable file: what it would cost to embed is the limit.
    """
    # discovered as typed, so that warnings name paths the way the user wrote them
    if follow_symlinks:
        files, failures = discover_sources(list(paths), follow_symlinks=True)
    else:
        files, failures = discover_sources(list(paths))
    folders, as_written = named_folders(list(paths)), named_folders(list(paths), resolved=False)
    for failure in failures:
        progress.warn(f"{failure.path}: {failure.reason}")
    before = {s.path: s for s in previous}
    counts = ReadCounts()
    out: dict[str, SourceFile] = {}
    progress.start("reading articles", len(files))
    for path in files:
        key = absolute(path)
        old = before.get(key)
        try:
            size, mtime_ns = _stat(key)
            if old is not None and old.size == size >= 0 and old.mtime_ns == mtime_ns:
                out[key] = old
                counts.unchanged += 1
                progress.advance()
                continue
            data = read_source(path, max_bytes)
            raw_hash = hashlib.sha256(data).hexdigest()
            if old is not None and old.raw_hash == raw_hash:
                out[key] = replace(old, size=size, mtime_ns=mtime_ns)
                counts.unchanged += 1
            else:
                article, warnings = parse_article(Path(key), data)
                if max_chars is not None and len(article.text) > max_chars:
                    raise IngestError(
                        f"article text is {len(article.text):,} characters, over the "
                        f"max_article_chars limit of {max_chars:,}; raise that setting to "
                        "index it"
                    )
                shown = display_path(path)
                for message in warnings:
                    failures.append(IngestFailure(shown, message, skipped=False))
                    progress.warn(f"{shown}: {message}")
                out[key] = SourceFile(key, raw_hash, article, size, mtime_ns)
                if old is None:
                    counts.added += 1
                else:
                    counts.updated += 1
        except Exception as exc:  # one odd file never ends a run; IngestError is the usual
            shown = display_path(path)
            reason = str(exc) if isinstance(exc, IngestError) else _unexpected(exc)
            failures.append(IngestFailure(shown, reason))
            progress.warn(f"{shown}: {reason}")
            if old is not None:  # keep the last good copy rather than lose the article
                out[key] = old
        progress.advance()

    for key, old in before.items():
        if key in out:
            continue
        # an index built before links out were skipped must not keep serving one
        leads_out = (
            not follow_symlinks
            and any(Path(key).is_relative_to(folder) for folder in as_written)
            and link_outside(key, folders) is not None
        )
        if os.path.lexists(key) and not leads_out:
            out[key] = old
            counts.unchanged += 1
        else:
            counts.removed += 1
    return ReadResult([out[k] for k in sorted(out)], counts, failures)


def _stat(path: str) -> tuple[int, int]:
    """(size, mtime_ns) of the file, or (-1, -1) when it changed too recently to trust."""
    try:
        st = os.stat(path)
    except OSError:
        return -1, -1
    if time.time_ns() - st.st_mtime_ns < RACY_SECONDS * 1e9:
        return -1, -1
    return st.st_size, st.st_mtime_ns


def _unexpected(exc: Exception) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return f"could not parse ({text[:200]})"
