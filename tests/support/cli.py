"""Reading the CLI's output in tests run through typer's ``CliRunner``."""

from __future__ import annotations

from typer.testing import Result


def one_line_error(result: Result) -> str:
    """The single ``error: ...`` line a failed command printed on stderr (no traceback)."""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]
