"""The question files of ``rag eval``: JSON lines, one record each, read into records by
a parser per kind, with one line of error for a file that cannot be read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rag.errors import RagError

Record = TypeVar("Record")


def read_records(
    path: Path, parse: Callable[[int, dict[str, Any]], Record], kind: str, plural: str
) -> list[Record]:
    """``parse(line number, object)`` for each non-blank line of ``path``; a file that
    cannot be read, or holds none, is one ``RagError`` naming the ``kind`` of file."""
    out = []
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                out.append(parse(number, json.loads(line)))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"{path} is not a readable {kind} file ({exc})") from None
    if not out:
        raise RagError(f"{path} holds no {plural}")
    return out
