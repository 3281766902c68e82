"""``rag index verify``: every file of the live version, the embedding cache and the
derived model files checked against their checksums."""

from __future__ import annotations

from dataclasses import asdict

from rich.text import Text

from rag.cli.commands import index_app
from rag.cli.common import IndexOpt, JsonOpt, err, error_line, out, print_json, reports_errors
from rag.records import FolderCheck, VerifyReport


@index_app.command("verify")
@reports_errors
def index_verify(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Read every file of the index and its caches; exit 1 if any is damaged."""
    from rag.archive import open_archive

    archive = open_archive(**({"index_dir": index} if index is not None else {}))
    report = archive.verify()
    if as_json:
        print_json({**asdict(report), "ok": report.ok})
    else:
        _render(report)
    if not report.ok:
        raise SystemExit(1)


def _render(report: VerifyReport) -> None:
    for check in report.checks:
        out.print(_line(check))
        for problem in check.problems:
            out.print(Text(f"    {problem}"))
    read = sum(c.bytes for c in report.checks)
    damaged = [c for c in report.checks if c.problems]
    if not damaged:
        out.print(f"read {_size(read)} in {report.seconds:.2f} s: nothing is damaged")
        return
    index_damaged = any(c.what == "index version" for c in damaged)
    advice = (
        "rebuild the index with rag index build PATH..."
        if index_damaged
        else "damaged caches and model files are made again when next used"
    )
    err.print(error_line(f"{len(damaged)} of {len(report.checks)} checked are damaged; {advice}"))


def _line(check: FolderCheck) -> Text:
    if check.problems:
        status, style = "damaged", "red"
    elif not check.recorded:
        status, style = "unchecked", "yellow"
    else:
        status, style = "ok", "green"
    line = Text(f"{status:>9}", style=style)
    line.append(f"  {check.what} {check.path}")
    if not check.recorded and not check.problems:
        line.append(" (written before checksums: rag index update records them)")
    else:
        files = "1 file" if check.files == 1 else f"{check.files} files"
        line.append(f" ({files}, {_size(check.bytes)})")
    return line


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
