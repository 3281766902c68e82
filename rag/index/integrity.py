"""Is an index version what was written? Its files against the checksums of its manifest."""

from __future__ import annotations

from pathlib import Path

from rag.checksums import FULL, check_digests
from rag.errors import IndexCorruptError
from rag.index.store import MANIFEST, IndexManifest
from rag.records import FileProblem, FolderCheck


def version_problems(
    version_dir: Path, manifest: IndexManifest, level: str = FULL
) -> list[FileProblem]:
    """The files of ``version_dir`` that differ from what its manifest records (none for
    a version written before checksums)."""
    return check_digests(version_dir, manifest.files, level)


def damage_message(version_dir: Path, problems: list[FileProblem], advice: str = "") -> str:
    """One line: the first damaged file, how many more, what to do."""
    more = f" (and {len(problems) - 1} more files)" if len(problems) > 1 else ""
    return (
        f"index version {version_dir} is damaged: {problems[0]}{more}; "
        f"{advice or 'rebuild it with rag index build PATH...'}"
    )


def check_version(
    version_dir: Path, manifest: IndexManifest, level: str = FULL, advice: str = ""
) -> None:
    """Raise ``IndexCorruptError`` when a file of the version differs from its record."""
    problems = version_problems(version_dir, manifest, level)
    if problems:
        raise IndexCorruptError(damage_message(version_dir, problems, advice))


def verify_version(version_dir: Path) -> FolderCheck:
    """Every file of ``version_dir`` read and compared with its recorded checksum."""
    try:
        manifest = IndexManifest.from_file(version_dir / MANIFEST)
    except IndexCorruptError as exc:
        return FolderCheck(
            "index version", str(version_dir), 0, 0, (FileProblem(MANIFEST, str(exc)),)
        )
    problems = version_problems(version_dir, manifest, FULL)
    return FolderCheck(
        "index version",
        str(version_dir),
        files=len(manifest.files) + 1,
        bytes=sum(d.size for d in manifest.files.values()),
        problems=tuple(problems),
        recorded=bool(manifest.files),
    )
