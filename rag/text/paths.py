"""Paths as the user sees them: one line, control characters and undecodable bytes
escaped."""

from __future__ import annotations

import os


def display_path(path: str | os.PathLike[str]) -> str:
    """Render a path on one line: control characters and undecodable bytes escaped."""
    text = os.fspath(path)
    out: list[str] = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 32 or code == 127 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)
